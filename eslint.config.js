// Lint: typescript-eslint's recommended rules, type-aware where it is cheap.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.receipt/**', 'docs/**', 'dist/**', 'build/**', 'build.*/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', structuredClone: 'readonly', setImmediate: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The layers (docs: README "What is here"). The HTTP semantics import nothing of ours; the SDK only them; the
  // gateway only them and its own files: each can be reused without the shop, its database or its launcher.
  {
    files: ['src/http/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'src/http/ imports nothing else of this project.' }] }] },
  },
  {
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '!../http', '!../http/*'], message: 'The SDK imports only src/http/: it must run without the server.' }] }],
    },
  },
  {
    files: ['src/gateway/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '!../http', '!../http/*'], message: 'The gateway imports only src/http/: it fronts any server, not just the shop.' }] }],
    },
  },
  // The gateway's folders import each other and src/http/, nothing else of the project; and within the gateway,
  // each folder only what it stands on (docs/gateway.md): the wire's grammar stands alone; the listener reads
  // connections and knows no request path; the cluster keeps targets and knows no request; answers know no phase;
  // nothing below gateway.ts imports it.
  ...[
    ['*', [], ''],
    ['wire', ['../*'], 'wire/ is the grammar of HTTP/1.x bytes: it imports nothing of the gateway outside wire/.'],
    ['listener', ['../phases/*', '../respond/*', '../cluster/*', '../gateway.ts'], 'listener/ reads connections and hands requests on: it knows no phase, answer or target.'],
    ['cluster', ['../phases/*', '../respond/*', '../listener/*', '../gateway.ts'], 'cluster/ keeps target groups and targets: it knows no request path.'],
    ['respond', ['../phases/*', '../listener/*', '../cluster/*', '../gateway.ts'], 'respond/ answers whatever phase asks: it knows none of them.'],
    ['phases', ['../listener/*', '../gateway.ts'], 'phases/ sees a request through its context, not the connection it came on.'],
  ].map(([folder, banned, message]) => ({
    files: [`src/gateway/${folder}/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../../*', '!../../http', '!../../http/*'], message: 'The gateway imports only src/http/: it fronts any server, not just the shop.' },
            ...(banned.length ? [{ group: banned, message }] : []),
          ],
        },
      ],
    },
  })),
  {
    files: ['src/audit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./(?!http/|gateway/access-log\\.ts$)', message: 'The audit imports only src/http/ and the access-log format: it judges any API, and ships without the server.' }] },
      ],
    },
  },
  // The servers never import what starts them, what fronts them or what calls them: the shop and the payment
  // sandbox stand on src/server/ (the problem renderer, the process protocol), src/db/ and src/http/.
  {
    files: ['src/server/**/*.ts', 'src/db/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!http/)[a-z-]+/', message: 'src/server/ and src/db/ are the bottom layer: only src/http/ below them.' }] }] },
  },
  {
    files: ['src/shop/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(system|control|gateway|cli|scenarios|audit|client|payment-sandbox)/', message: 'The shop imports nothing that starts, fronts or calls it.' }] }],
    },
  },
  {
    files: ['src/payment-sandbox/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(system|control|gateway|cli|scenarios|audit|client|shop)/', message: 'The payment sandbox stands alone, as the provider it plays.' }] }],
    },
  },
);
