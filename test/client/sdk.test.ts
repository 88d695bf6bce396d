/**
 * The SDK against real HTTP servers that misbehave on purpose: refresh races, Retry-After in both forms, redirects
 * and loops, 204/304, and the 504 before or after the order was written — counting the requests sent.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, describe, it } from 'node:test';
import { ConnectionError, ReceiptClient, ReceiptError, RedirectError } from '../../src/client/index.ts';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;
const servers: http.Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r))))));

async function server(handler: Handler): Promise<string> {
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => handler(req, body, res));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}
const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers }).end(JSON.stringify(body));
const problem = (status: number) => ({ type: 'about:blank', title: String(status), status, detail: 'x' });
const noSleep = () => {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
};

describe('token refresh (RFC 6750)', () => {
  it('five concurrent calls meeting an expired token share ONE refresh, then all succeed', async () => {
    let refreshes = 0;
    let valid = 'old';
    const url = await server((req, body, res) => {
      if (req.url === '/auth/refresh') {
        refreshes++;
        valid = `new-${refreshes}`;
        return setTimeout(() => json(res, 200, { access_token: valid, refresh_token: `r${refreshes}`, expires_in: 900, token_type: 'Bearer' }), 50);
      }
      if (req.headers.authorization === `Bearer ${valid}`) return json(res, 200, []);
      json(res, 401, problem(401), { 'www-authenticate': 'Bearer realm="receipt", error="invalid_token", error_description="Token expired"' });
    });
    const c = new ReceiptClient({ baseUrl: url });
    c.useTokens({ access_token: 'stale', refresh_token: 'r0', expires_in: 900, token_type: 'Bearer' });
    valid = 'fresh-only-after-refresh';
    const results = await Promise.all(Array.from({ length: 5 }, () => c.listOrders()));
    assert.equal(refreshes, 1);
    assert.equal(results.length, 5);
    assert.equal(c.requestsSent, 5 + 1 + 5);
  });

  it('a second 401 after the refresh surfaces; a 401 without invalid_token is not refreshed', async () => {
    let refreshes = 0;
    const url = await server((req, _b, res) => {
      if (req.url === '/auth/refresh') {
        refreshes++;
        return json(res, 200, { access_token: 'a', refresh_token: 'r', expires_in: 1, token_type: 'Bearer' });
      }
      json(res, 401, problem(401), { 'www-authenticate': req.url === '/orders' ? 'Bearer error="invalid_token"' : 'Bearer realm="receipt"' });
    });
    const c = new ReceiptClient({ baseUrl: url });
    c.useTokens({ access_token: 'x', refresh_token: 'r', expires_in: 1, token_type: 'Bearer' });
    await assert.rejects(c.listOrders(), (e: unknown) => e instanceof ReceiptError && e.status === 401 && e.challenge?.error === 'invalid_token');
    assert.equal(refreshes, 1);
    await assert.rejects(c.request('GET', 'cart'), (e: unknown) => e instanceof ReceiptError && e.status === 401);
    assert.equal(refreshes, 1, 'no error="invalid_token": no refresh');
  });
});

describe('429 / 503 and Retry-After', () => {
  it('waits Retry-After (seconds, then HTTP-date) and retries a GET until it succeeds', async () => {
    let n = 0;
    const url = await server((_req, _b, res) => {
      n++;
      if (n === 1) return json(res, 429, problem(429), { 'retry-after': '2', 'x-ratelimit-remaining': '0', ratelimit: '"general";r=0;t=30' });
      if (n === 2) return json(res, 503, problem(503), { 'retry-after': new Date(Date.now() + 5000).toUTCString() });
      json(res, 200, []);
    });
    const { waits, sleep } = noSleep();
    const c = new ReceiptClient({ baseUrl: url, sleep, random: () => 0, retry: { jitter: 0 } });
    c.useTokens({ access_token: 'a', refresh_token: 'r', expires_in: 900, token_type: 'Bearer' });
    await c.listOrders();
    assert.equal(n, 3);
    assert.equal(waits[0], 2000, 'Retry-After wins over the RateLimit fields');
    assert.ok(waits[1]! > 3000 && waits[1]! <= 5000, `HTTP-date wait ${waits[1]}`);
  });

  it('a POST without Idempotency-Key is not retried; a 500 is never retried', async () => {
    let n = 0;
    const url = await server((req, _b, res) => {
      n++;
      json(res, req.url === '/boom' ? 500 : 503, problem(503), { 'retry-after': '1' });
    });
    const c = new ReceiptClient({ baseUrl: url, sleep: async () => {} });
    c.useTokens({ access_token: 'a', refresh_token: 'r', expires_in: 900, token_type: 'Bearer' });
    await assert.rejects(c.request('POST', 'anything', { body: {} }), (e: unknown) => e instanceof ReceiptError && e.status === 503 && e.retryAfter === '1');
    assert.equal(n, 1);
    await assert.rejects(c.request('GET', 'boom'), (e: unknown) => e instanceof ReceiptError && e.status === 500);
    assert.equal(n, 2);
    await assert.rejects(c.request('POST', 'anything', { body: {}, headers: { 'idempotency-key': 'k' } }));
    assert.equal(n, 2 + 4, 'with a key: the first try and three retries');
  });
});

describe('204, 304 and the cache', () => {
  it('never parses a 204; answers a 304 from the cache with the stored body', async () => {
    let n = 0;
    const url = await server((req, _b, res) => {
      n++;
      if (req.method === 'DELETE') return res.writeHead(204).end();
      if (req.headers['if-none-match'] === '"v1"') return res.writeHead(304, { etag: '"v1"' }).end();
      json(res, 200, { id: 42, name: 'Headphones', price_cents: 1, stock: 1 }, { etag: '"v1"' });
    });
    const c = new ReceiptClient({ baseUrl: url });
    c.useTokens({ access_token: 'a', refresh_token: 'r', expires_in: 900, token_type: 'Bearer' });
    await c.deleteProduct(42);
    const first = await c.request('GET', 'products/42', { auth: false });
    const second = await c.request('GET', 'products/42', { auth: false });
    assert.equal(first.fromCache, undefined);
    assert.equal(second.fromCache, true);
    assert.deepEqual(second.body, first.body);
    assert.equal(n, 3);
  });

  it('the cache is bounded (least recently used out first) and keeps nothing marked no-store', async () => {
    const conditional: string[] = [];
    const url = await server((req, _b, res) => {
      if (req.headers['if-none-match']) {
        conditional.push(req.url!);
        return res.writeHead(304, { etag: req.headers['if-none-match'] }).end();
      }
      json(res, 200, { path: req.url }, { etag: `"${req.url}"`, ...(req.url === '/secret' ? { 'cache-control': 'no-store' } : {}) });
    });
    const c = new ReceiptClient({ baseUrl: url, cacheEntries: 2 });
    for (const p of ['a', 'b', 'a', 'c']) await c.request('GET', p, { auth: false }); // c pushes out b, the least recently used
    for (const p of ['a', 'b', 'secret', 'secret']) await c.request('GET', p, { auth: false });
    assert.deepEqual(conditional, ['/a', '/a'], 'a revalidated twice; b was dropped; a no-store answer is never kept');
  });
});

describe('redirects (RFC 9110 §15.4, Fetch)', () => {
  it('307/308 repeat method and body; 303 turns into GET; 301 turns a POST into GET', async () => {
    const seen: string[] = [];
    const url = await server((req, body, res) => {
      seen.push(`${req.method} ${req.url} ${body}`);
      const to: Record<string, [number, string]> = { '/a': [307, '/b'], '/b': [308, '/c'], '/c': [303, '/d'], '/p': [301, '/q'] };
      const hop = to[req.url!];
      if (hop) return res.writeHead(hop[0], { location: hop[1] }).end();
      json(res, 200, { ok: true });
    });
    const c = new ReceiptClient({ baseUrl: url });
    await c.request('POST', 'a', { body: { x: 1 }, auth: false });
    assert.deepEqual(seen, ['POST /a {"x":1}', 'POST /b {"x":1}', 'POST /c {"x":1}', 'GET /d ']);
    seen.length = 0;
    await c.request('POST', 'p', { body: { x: 1 }, auth: false });
    assert.deepEqual(seen, ['POST /p {"x":1}', 'GET /q ']);
  });

  it('more than five hops, and a loop, are errors; Authorization is dropped crossing origins', async () => {
    let hops = 0;
    const other = await server((req, _b, res) => json(res, 200, { authorization: req.headers.authorization ?? null }));
    const url = await server((req, _b, res) => {
      hops++;
      if (req.url === '/loop') return res.writeHead(302, { location: '/loop2' }).end();
      if (req.url === '/loop2') return res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/away') return res.writeHead(302, { location: `${other}/x` }).end();
      const n = Number(req.url!.slice(1));
      res.writeHead(302, { location: `/${n + 1}` }).end();
    });
    const c = new ReceiptClient({ baseUrl: url });
    c.useTokens({ access_token: 'secret', refresh_token: 'r', expires_in: 900, token_type: 'Bearer' });
    await assert.rejects(c.request('GET', '0'), RedirectError);
    assert.equal(hops, 6, 'the first request and five redirects');
    await assert.rejects(c.request('GET', 'loop'), /loop/);
    const away = await c.request<{ authorization: string | null }>('GET', 'away');
    assert.equal(away.body.authorization, null);
  });
});

describe('createOrder and the 504 uncertainty (docs/status-codes.md)', () => {
  /** A shop that keeps orders by reference and fails the way it is told to. */
  async function shop(failures: Array<'504-after-write' | '504-before-write' | 'reset-mid-body'>) {
    const orders = new Map<string, { id: number; reference: string; status: string }>();
    const keys = new Map<string, number>();
    let posts = 0;
    let gets = 0;
    const url = await server((req, body, res) => {
      if (req.method === 'GET' && req.url!.startsWith('/orders?reference=')) {
        gets++;
        const ref = decodeURIComponent(req.url!.split('=')[1]!);
        return json(res, 200, orders.has(ref) ? [orders.get(ref)] : []);
      }
      posts++;
      const input = JSON.parse(body) as { reference: string };
      const key = String(req.headers['idempotency-key']);
      const failure = failures.shift();
      if (failure === '504-before-write') return json(res, 504, problem(504));
      let order = orders.get(input.reference);
      const replay = keys.has(key);
      if (!order) {
        order = { id: orders.size + 1, reference: input.reference, status: 'processing' };
        orders.set(input.reference, order);
        keys.set(key, order.id);
      }
      if (failure === '504-after-write') return json(res, 504, problem(504));
      if (failure === 'reset-mid-body') {
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"id":');
        return setTimeout(() => res.socket!.destroy(), 10);
      }
      json(res, 201, order, { location: `/orders/${order.id}`, ...(replay ? { 'idempotent-replayed': 'true' } : {}) });
    });
    const c = new ReceiptClient({ baseUrl: url });
    c.useTokens({ access_token: 'a', refresh_token: 'r', expires_in: 900, token_type: 'Bearer' });
    return { c, orders, counts: () => ({ posts, gets }) };
  }
  const input = { product_id: 42, quantity: 1, payment_token: 'tok' };

  it('504 after the order was written: found by reference, not sent again', async () => {
    const s = await shop(['504-after-write']);
    const placed = await s.c.createOrder(input);
    assert.equal(placed.outcome, 'reconciled');
    assert.deepEqual(s.counts(), { posts: 1, gets: 1 });
    assert.equal(s.orders.size, 1);
    assert.deepEqual(placed.trail, ['POST /orders 504', `GET /orders?reference=${placed.reference} 200 (1 found)`]);
  });

  it('504 before it was written: nothing found, sent again with the same key, one order', async () => {
    const s = await shop(['504-before-write']);
    const placed = await s.c.createOrder(input);
    assert.equal(placed.outcome, 'resent');
    assert.deepEqual(s.counts(), { posts: 2, gets: 1 });
    assert.equal(s.orders.size, 1);
  });

  it('the connection reset mid-body: treated as unknown, reconciled, one order', async () => {
    const s = await shop(['reset-mid-body']);
    const placed = await s.c.createOrder(input);
    assert.equal(placed.outcome, 'reconciled');
    assert.equal(s.orders.size, 1);
    assert.deepEqual(s.counts(), { posts: 1, gets: 1 });
  });

  it('a definite failure (422) is not reconciled or resent', async () => {
    const url = await server((_req, _b, res) => json(res, 422, { ...problem(422), errors: [{ field: 'quantity', message: 'x' }] }));
    const c = new ReceiptClient({ baseUrl: url });
    c.useTokens({ access_token: 'a', refresh_token: 'r', expires_in: 900, token_type: 'Bearer' });
    await assert.rejects(c.createOrder(input), (e: unknown) => e instanceof ReceiptError && e.status === 422);
    assert.equal(c.requestsSent, 1);
  });

  it('a refused connection is a ConnectionError', async () => {
    const c = new ReceiptClient({ baseUrl: 'http://127.0.0.1:1' });
    await assert.rejects(c.listProducts(), ConnectionError);
  });
});
