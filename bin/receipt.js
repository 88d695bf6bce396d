#!/usr/bin/env node
// The `receipt` command. In this repository it runs the TypeScript in src/ through tsx (no build step); an installed
// package has no src/ and runs the compiled dist/ (made by `npm run build`, which `npm pack` runs first).
import fs from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (fs.existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
