/**
 * An API that breaks each of `receipt audit`'s rules on purpose, one route per rule (`/broken/…`), beside routes
 * that do the same job correctly (`/good/…`). Its OpenAPI document is built from the same table, so the audit
 * finds the routes the way it finds anyone's. `BROKEN` says which rules each broken route must trip — and the
 * test holds the audit to exactly those.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Json;
  /** Bytes written to the socket as they are: for answers no HTTP library would send. */
  raw?: string;
}
interface Ctx {
  req: http.IncomingMessage;
  id?: string;
  user?: string;
  body?: Json;
}
interface Route {
  method: string;
  path: string;
  secured?: boolean;
  /** Property name → [type, minimum?] of a JSON body. */
  body?: Record<string, [type: 'string' | 'integer', minimum?: number]>;
  /** How the body is judged: right (400 for syntax and types, 422 for rules), or a broken way. */
  validation?: 'right' | 'swapped' | 'plain' | 'crash';
  /** Override the 401s (`none`: no challenge; `no-error`: a Bearer challenge without error= for a bad token). */
  challenge?: 'right' | 'none' | 'no-error';
  /** A representation served with validators and ranges. */
  entity?: { body: string; etag: string; ranges?: 'right' | 'no-content-range' | 'no-416-length'; ifMatch?: 'right' | 'weak' };
  handle?: (c: Ctx) => Reply;
}

const TOKENS: Record<string, string> = { 'alice-token': 'alice', 'bob-token': 'bob' };
const DOCS: Record<string, string> = { '7': 'alice' };

const problem = (status: number, type: string, title: string, extra: Json = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: { type: `https://fixture.test/problems/${type}`, title, status, ...extra },
});

/** A document the caller may not see answers the same 404 as one that is not there (RFC 9110 §15.5.5: not willing to disclose that it exists). */
const docRoute = (path: string, others: 'hide' | 'forbid' | 'different-404'): Route => ({
  method: 'GET',
  path,
  secured: true,
  handle: ({ id, user }) => {
    const owner = DOCS[id!];
    if (!owner) return problem(404, 'not-found', 'Not Found', { detail: 'No such document.' });
    if (owner !== user) {
      if (others === 'forbid') return problem(403, 'forbidden', 'Forbidden');
      if (others === 'different-404') return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not yours' };
      return problem(404, 'not-found', 'Not Found', { detail: 'No such document.' });
    }
    return { status: 200, headers: { 'content-type': 'application/json' }, body: { id: Number(id), owner } };
  },
});

const ok = (body: Json = { ok: true }, headers: Record<string, string> = {}): Reply => ({ status: 200, headers: { 'content-type': 'application/json', ...headers }, body });
const hop = (status: number, location: string) => (): Reply => ({ status, headers: { location, 'cache-control': 'no-store' } });

export const ROUTES: Route[] = [
  // 2xx
  { method: 'POST', path: '/broken/created', body: { name: ['string'] }, handle: () => ({ status: 201, headers: { 'content-type': 'application/json' }, body: { id: 1 } }) },
  { method: 'POST', path: '/good/created', body: { name: ['string'] }, handle: () => ({ status: 201, headers: { 'content-type': 'application/json', location: '/good/created/1' }, body: { id: 1 } }) },
  { method: 'POST', path: '/broken/accepted', handle: () => ({ status: 202, headers: { 'content-type': 'application/json' }, body: { job: 'j1' } }) },
  { method: 'POST', path: '/good/accepted', handle: () => ({ status: 202, headers: { 'content-type': 'application/json', location: '/good/jobs/j1', 'retry-after': '5' }, body: { job: 'j1' } }) },
  { method: 'DELETE', path: '/broken/no-content', handle: () => ({ status: 204, raw: 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n{"deleted":true}' }) },
  { method: 'DELETE', path: '/good/no-content', handle: () => ({ status: 204 }) },
  { method: 'GET', path: '/broken/partial', entity: { body: 'abcdefghij', etag: '"p1"', ranges: 'no-content-range' } },
  { method: 'GET', path: '/broken/unsatisfiable', entity: { body: 'abcdefghij', etag: '"u1"', ranges: 'no-416-length' } },
  { method: 'GET', path: '/good/partial', entity: { body: 'abcdefghij', etag: '"g1"', ranges: 'right' } },
  // 3xx
  { method: 'GET', path: '/broken/redirect-no-location', handle: () => ({ status: 302, headers: { 'cache-control': 'no-store' } }) },
  { method: 'GET', path: '/good/redirect', handle: hop(302, '/good/target') },
  { method: 'GET', path: '/broken/long-chain', handle: hop(301, '/chain/1') },
  { method: 'GET', path: '/broken/loop', handle: hop(302, '/loop/a') },
  { method: 'POST', path: '/broken/moved', body: { name: ['string'] }, handle: hop(301, '/good/created') },
  { method: 'POST', path: '/good/moved', body: { name: ['string'] }, handle: hop(308, '/good/created') },
  // 4xx
  { method: 'GET', path: '/broken/auth-no-challenge', secured: true, challenge: 'none', handle: () => ok() },
  { method: 'GET', path: '/broken/bearer-no-error', secured: true, challenge: 'no-error', handle: () => ok() },
  { method: 'GET', path: '/good/auth', secured: true, handle: () => ok() },
  docRoute('/broken/docs/{id}', 'forbid'),
  docRoute('/broken/notes/{id}', 'different-404'),
  docRoute('/good/docs/{id}', 'hide'),
  { method: 'GET', path: '/broken/no-allow', handle: () => ok() },
  { method: 'GET', path: '/broken/allow-lies', handle: () => ok() },
  { method: 'POST', path: '/broken/plain-400', body: { name: ['string'] }, validation: 'plain', handle: () => ({ status: 201, headers: { location: '/broken/plain-400/1' } }) },
  { method: 'POST', path: '/broken/swapped', body: { quantity: ['integer', 1] }, validation: 'swapped', handle: () => ({ status: 201, headers: { location: '/broken/swapped/1' } }) },
  { method: 'POST', path: '/good/validated', body: { quantity: ['integer', 1] }, handle: () => ({ status: 201, headers: { location: '/good/validated/1' } }) },
  { method: 'GET', path: '/broken/not-problem', handle: () => ({ status: 404, headers: { 'content-type': 'application/json' }, body: { error: 'not here' } }) },
  // 429, 5xx
  { method: 'GET', path: '/broken/busy', handle: () => problem(503, 'unavailable', 'Service Unavailable') },
  { method: 'GET', path: '/good/busy', handle: () => ({ ...problem(503, 'unavailable', 'Service Unavailable'), headers: { 'content-type': 'application/problem+json', 'retry-after': '30' } }) },
  { method: 'GET', path: '/broken/crash-retry', handle: () => ({ ...problem(500, 'internal', 'Internal Server Error'), headers: { 'content-type': 'application/problem+json', 'retry-after': '10' } }) },
  { method: 'GET', path: '/good/crash', handle: () => problem(500, 'internal', 'Internal Server Error', { request_id: 'r-1' }) },
  { method: 'GET', path: '/broken/leak', handle: () => problem(500, 'internal', 'Internal Server Error', { detail: "TypeError: Cannot read properties of undefined (reading 'id')\n    at handler (/srv/app/routes.js:42:17)" }) },
  { method: 'POST', path: '/broken/fragile', body: { name: ['string'] }, validation: 'crash', handle: () => ({ status: 201, headers: { location: '/broken/fragile/1' } }) },
  { method: 'GET', path: '/broken/limits', handle: () => ok({ ok: true }, { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '150', 'x-ratelimit-reset': '1700000000' }) },
  { method: 'GET', path: '/good/limits', handle: () => ok({ ok: true }, { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99', 'ratelimit-policy': '"default";q=100;w=60', ratelimit: '"default";r=99;t=60' }) },
  // HEAD and validators
  {
    method: 'GET',
    path: '/broken/head',
    handle: ({ req }) => (req.method === 'HEAD' ? { status: 200, headers: { 'content-type': 'text/html', 'content-length': '5' } } : ok({ page: 1 })),
  },
  { method: 'GET', path: '/broken/weak-etag', entity: { body: '{"v":1}', etag: 'W/"v1"', ifMatch: 'weak' } },
  { method: 'GET', path: '/good/weak-etag', entity: { body: '{"v":1}', etag: 'W/"v1"' } },
];

/** Undocumented hops of the redirect chains. */
const HOPS: Record<string, () => Reply> = {
  '/good/target': () => ok({ arrived: true }),
  '/chain/1': hop(301, '/chain/2'),
  '/chain/2': hop(301, '/chain/3'),
  '/chain/3': hop(301, '/chain/4'),
  '/chain/4': hop(301, '/chain/5'),
  '/chain/5': hop(301, '/chain/6'),
  '/chain/6': hop(301, '/good/target'),
  '/loop/a': hop(302, '/loop/b'),
  '/loop/b': hop(302, '/loop/a'),
};

/** Each broken route and the rules the audit must find on it (a path's operations, any method). */
export const BROKEN: Record<string, string[]> = {
  '/broken/created': ['created-without-location'],
  '/broken/accepted': ['accepted-without-monitor'],
  '/broken/no-content': ['body-on-bodyless-response'],
  '/broken/partial': ['partial-without-content-range'],
  '/broken/unsatisfiable': ['unsatisfiable-without-length'],
  '/broken/redirect-no-location': ['redirect-without-location'],
  '/broken/long-chain': ['redirect-chain-too-long'],
  '/broken/loop': ['redirect-loop'],
  '/broken/moved': ['redirect-changes-method'],
  '/broken/auth-no-challenge': ['unauthorized-without-challenge'],
  '/broken/bearer-no-error': ['bearer-challenge-without-error'],
  '/broken/docs/{id}': ['forbidden-reveals-existence'],
  '/broken/notes/{id}': ['not-found-shapes-differ', 'error-not-problem-json'],
  '/broken/no-allow': ['method-not-allowed-without-allow'],
  '/broken/allow-lies': ['allow-lies'],
  '/broken/plain-400': ['error-without-details', 'error-not-problem-json'],
  '/broken/swapped': ['validation-status-swapped'],
  '/broken/busy': ['retry-after-missing'],
  '/broken/crash-retry': ['internal-error-with-retry-after'],
  '/broken/leak': ['internal-details-leaked'],
  '/broken/fragile': ['server-error-on-bad-input'],
  '/broken/not-problem': ['error-not-problem-json'],
  '/broken/limits': ['rate-limit-headers-disagree'],
  '/broken/head': ['head-differs-from-get'],
  '/broken/weak-etag': ['etag-misuse'],
};

export function openapiDocument(): Json {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'integer' }, example: 7 }));
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = {
      ...(params.length ? { parameters: params } : {}),
      ...(r.secured ? { security: [{ bearer: [] }] } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: Object.keys(r.body),
                    properties: Object.fromEntries(Object.entries(r.body).map(([k, [type, minimum]]) => [k, { type, ...(minimum !== undefined ? { minimum } : {}) }])),
                  },
                },
              },
            },
          }
        : {}),
      responses: { default: { description: 'any' } },
    };
  }
  return { openapi: '3.1.0', info: { title: 'audit fixture', version: '1' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } }, paths };
}

function matchRoute(path: string): { routes: Route[]; id?: string } {
  for (const r of ROUTES) {
    const re = new RegExp(`^${r.path.replace(/\{\w+\}/, '([^/]+)')}$`);
    const m = re.exec(path);
    if (m) return { routes: ROUTES.filter((x) => x.path === r.path), ...(m[1] !== undefined ? { id: m[1] } : {}) };
  }
  return { routes: [] };
}

function allowOf(routes: Route[]): string {
  const methods = new Set(routes.map((r) => r.method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].join(', ');
}

function weakEqual(a: string, b: string) {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

function serveEntity(r: Route, req: http.IncomingMessage): Reply {
  const e = r.entity!;
  const base = { etag: e.etag, 'content-type': 'application/json', ...(e.ranges ? { 'accept-ranges': 'bytes' } : {}) };
  const inm = req.headers['if-none-match'];
  if (inm && weakEqual(inm, e.etag)) return { status: 304, headers: { etag: e.etag } };
  const im = req.headers['if-match'];
  if (im) {
    const strongMatch = !im.startsWith('W/') && !e.etag.startsWith('W/') && im === e.etag;
    const matches = e.ifMatch === 'weak' ? weakEqual(im, e.etag) : strongMatch;
    if (!matches) return { ...problem(412, 'precondition-failed', 'Precondition Failed'), headers: { 'content-type': 'application/problem+json', etag: e.etag } };
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (e.ranges && range) {
    const len = e.body.length;
    const first = Number(range[1]);
    const last = Math.min(range[2] ? Number(range[2]) : len - 1, len - 1);
    if (first >= len) {
      const p = problem(416, 'range-not-satisfiable', 'Range Not Satisfiable');
      return { ...p, headers: { ...p.headers, ...(e.ranges === 'no-416-length' ? {} : { 'content-range': `bytes */${len}` }) } };
    }
    return { status: 206, headers: { ...base, ...(e.ranges === 'no-content-range' ? {} : { 'content-range': `bytes ${first}-${last}/${len}` }) }, body: e.body.slice(first, last + 1) };
  }
  return { status: 200, headers: base, body: e.body };
}

function validate(r: Route, text: string): { body?: Json; reply?: Reply } {
  const mode = r.validation ?? 'right';
  const fail = (kind: 'syntax' | 'type' | 'rule', detail: string): Reply => {
    if (mode === 'crash') return problem(500, 'internal', 'Internal Server Error');
    if (mode === 'plain') return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'Bad Request' };
    const status = kind === 'rule' ? (mode === 'swapped' ? 400 : 422) : mode === 'swapped' ? 422 : 400;
    return problem(status, kind === 'rule' ? 'validation-failed' : 'malformed-request', kind === 'rule' ? 'Unprocessable Content' : 'Bad Request', { detail });
  };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { reply: fail('syntax', 'The body is not JSON.') };
  }
  if (typeof body !== 'object' || body === null) return { reply: fail('type', 'The body must be an object.') };
  for (const [k, [type, minimum]] of Object.entries(r.body!)) {
    const v = (body as Json)[k];
    if (type === 'string' ? typeof v !== 'string' : !Number.isInteger(v)) return { reply: fail('type', `${k} must be ${type === 'string' ? 'a string' : 'an integer'}.`) };
    if (minimum !== undefined && (v as number) < minimum) return { reply: fail('rule', `${k} must be at least ${minimum}.`) };
  }
  return { body: body as Json };
}

async function answer(req: http.IncomingMessage, text: string): Promise<Reply> {
  const path = new URL(req.url!, 'http://x').pathname;
  if (HOPS[path] && (req.method === 'GET' || req.method === 'HEAD')) return HOPS[path]!();
  const { routes, id } = matchRoute(path);
  if (routes.length === 0) return problem(404, 'not-found', 'Not Found');
  const method = req.method === 'HEAD' ? 'GET' : req.method!;
  const r = routes.find((x) => x.method === method);
  if (!r) {
    if (path === '/broken/no-allow') return problem(405, 'method-not-allowed', 'Method Not Allowed');
    const allow = path === '/broken/allow-lies' ? 'GET, HEAD, PATCH' : allowOf(routes);
    return { ...problem(405, 'method-not-allowed', 'Method Not Allowed'), headers: { 'content-type': 'application/problem+json', allow } };
  }
  let user: string | undefined;
  if (r.secured) {
    const auth = req.headers.authorization;
    const token = /^Bearer (.+)$/.exec(auth ?? '')?.[1];
    user = token ? TOKENS[token] : undefined;
    if (!user) {
      const p = problem(401, 'unauthenticated', 'Unauthorized');
      const challenge = r.challenge === 'none' ? undefined : auth && r.challenge !== 'no-error' ? 'Bearer realm="fixture", error="invalid_token"' : 'Bearer realm="fixture"';
      return { ...p, headers: { ...p.headers, ...(challenge ? { 'www-authenticate': challenge } : {}) } };
    }
  }
  let body: Json | undefined;
  if (r.body) {
    const v = validate(r, text);
    if (v.reply) return v.reply;
    body = v.body;
  }
  if (r.entity) return serveEntity(r, req);
  return r.handle!({ req, ...(id !== undefined ? { id } : {}), ...(user ? { user } : {}), ...(body ? { body } : {}) });
}

export async function startAuditFixture(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void answer(req, Buffer.concat(chunks).toString('utf8')).then((reply) => {
        if (reply.raw) {
          req.socket.end(reply.raw);
          return;
        }
        const body = reply.body === undefined ? undefined : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, { ...(body !== undefined && reply.status !== 204 && reply.status !== 304 ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...reply.headers });
        res.end(reply.status === 204 || reply.status === 304 ? undefined : body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
