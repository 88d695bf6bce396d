/**
 * The rest of the status surface (issue: cart 409, checkout 429, reports 202, videos 206/416, redirects, maintenance),
 * through the app with a real PostgreSQL database.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { ensureSampleVideo } from '../../src/shop/media.ts';
import { ReportWorker } from '../../src/shop/report-worker.ts';
import { problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

const VIDEO_SIZE = 3 * 1024 * 1024 + 17; // not a whole number of chunks
let s: ShopUnderTest;
let alice: Record<string, string>;
let admin: Record<string, string>;
let videoDir: string;
let movie: Buffer;

before(async () => {
  // Under a dot-directory, as the default DATA_DIR (./.receipt) is: the file must still be served.
  videoDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-video-')), '.receipt', 'videos');
  movie = fs.readFileSync(await ensureSampleVideo(videoDir, VIDEO_SIZE));
  s = await shopUnderTest({ CHECKOUT_RATE_LIMIT: '3' }, { videoDir });
  alice = await s.bearer('alice');
  admin = await s.bearer('admin');
});
after(async () => {
  await s.close();
  fs.rmSync(path.dirname(path.dirname(videoDir)), { recursive: true, force: true });
});

describe('cart', () => {
  it('POST 201 + Location; the same product again 409 with existing_item_id; PATCH 200; DELETE 204', async () => {
    const add = await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 42 }, headers: alice });
    assert.equal(add.statusCode, 201);
    const item = add.json();
    assert.equal(add.headers.location, `/cart/items/${item.id}`);
    const again = problem(await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 42, quantity: 2 }, headers: alice }), 409);
    assert.equal(again.existing_item_id, item.id);
    const patched = await s.app.inject({ method: 'PATCH', url: `/cart/items/${item.id}`, payload: { quantity: 3 }, headers: alice });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json().quantity, 3);
    problem(await s.app.inject({ method: 'PATCH', url: `/cart/items/${item.id}`, payload: { quantity: 3 }, headers: await s.bearer('bob') }), 404);
    const del = await s.app.inject({ method: 'DELETE', url: `/cart/items/${item.id}`, headers: alice });
    assert.equal(del.statusCode, 204);
    problem(await s.app.inject({ method: 'DELETE', url: `/cart/items/${item.id}`, headers: alice }), 404);
  });
});

describe('checkout', () => {
  it('turns the cart into one order, charged once, 201 + Location; the cart is then empty (422)', async () => {
    await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 42, quantity: 2 }, headers: alice });
    await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 43, quantity: 1 }, headers: alice });
    const res = await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: 'tok', reference: 'co-1' }, headers: alice });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, `/orders/${res.json().id}`);
    assert.equal(res.json().amount_cents, 2 * 7999 + 1299);
    assert.equal(res.headers['x-ratelimit-limit'], '3');
    assert.equal((await s.testDb.sql(`SELECT count(*)::int AS n FROM sandbox.charges WHERE reference = 'co-1'`))[0]!.n, 1);
    assert.equal((await s.testDb.sql(`SELECT count(*)::int AS n FROM order_lines WHERE order_id = $1`, [res.json().id]))[0]!.n, 2);
    assert.deepEqual(res.json().lines, [
      { product_id: 42, quantity: 2, amount_cents: 2 * 7999 },
      { product_id: 43, quantity: 1, amount_cents: 1299 },
    ]);
    const read = await s.app.inject({ url: String(res.headers.location), headers: alice });
    assert.deepEqual(read.json().lines, res.json().lines);
    const empty = problem(await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: 'tok' }, headers: alice }), 422);
    assert.deepEqual(empty.errors, [{ field: 'cart', message: 'The cart is empty' }]);
  });

  it('idempotent: the same Idempotency-Key replays the first order (charged once); a line short of stock rolls every line back', async () => {
    // alice: her checkout points are what the first test left (the replay and the 422 spend none).
    const stock = async (id: number) => (await s.testDb.sql(`SELECT stock FROM products WHERE id = $1`, [id]))[0]!.stock as number;
    await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 42, quantity: 1 }, headers: alice });
    const key = { ...alice, 'idempotency-key': 'co-key-1' };
    const first = await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: 'tok', reference: 'co-idem' }, headers: key });
    assert.equal(first.statusCode, 201);
    const again = await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: 'tok', reference: 'co-idem' }, headers: key });
    assert.equal(again.statusCode, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().id, first.json().id);
    assert.equal((await s.testDb.sql(`SELECT count(*)::int AS n FROM sandbox.charges WHERE reference = 'co-idem'`))[0]!.n, 1);
    problem(await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: 'other', reference: 'co-idem' }, headers: key }), 422);

    // Two lines, the second more than there is: nothing of either is reserved, the cart stays as it was.
    const before42 = await stock(42);
    const before43 = await stock(43);
    await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 42, quantity: 1 }, headers: alice });
    await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 43, quantity: 1 }, headers: alice });
    await s.testDb.sql(`UPDATE products SET stock = 0 WHERE id = 43`);
    const sold = problem(await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: 'tok', reference: 'co-short' }, headers: alice }), 409);
    assert.equal(sold.product_id, 43);
    assert.equal(await stock(42), before42, 'the first line\'s stock is back');
    assert.equal((await s.testDb.sql(`SELECT count(*)::int AS n FROM cart_items c JOIN users u ON u.id = c.user_id WHERE u.username = 'alice'`))[0]!.n, 2);
    await s.testDb.sql(`UPDATE products SET stock = $1 WHERE id = 43`, [before43]);
  });

  it('the attempt over CHECKOUT_RATE_LIMIT in a minute: 429 + Retry-After + X-RateLimit-* + RateLimit fields', async () => {
    const bob = await s.bearer('bob');
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      await s.app.inject({ method: 'POST', url: '/cart/items', payload: { product_id: 43 }, headers: bob });
      last = await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: 'tok' }, headers: bob });
      statuses.push(last.statusCode);
      if (last.statusCode !== 429) {
        assert.ok(last.headers['x-ratelimit-limit'] && last.headers['x-ratelimit-remaining'] && last.headers['x-ratelimit-reset'], 'non-429 answers carry the fields');
      }
    }
    assert.deepEqual(statuses, [201, 201, 201, 429, 429]);
    const body = problem(last!, 429);
    const h = last!.headers;
    const retry = Number(h['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${h['retry-after']}`);
    assert.equal(h['x-ratelimit-limit'], '3');
    assert.equal(h['x-ratelimit-remaining'], '0');
    const reset = Number(h['x-ratelimit-reset']);
    assert.ok(Math.abs(reset - (Date.now() / 1000 + retry)) <= 2, 'X-RateLimit-Reset is epoch seconds at the end of the wait');
    assert.equal(h['ratelimit-policy'], '"checkout";q=3;w=60');
    assert.match(String(h.ratelimit), /^"checkout";r=0;t=\d+$/);
    assert.equal(h['cache-control'], 'no-store');
    assert.match(String(body.detail), /wait \d+ seconds/);
    // A request that fails validation first does not spend a point, and still describes the limit.
    const invalid = await s.app.inject({ method: 'POST', url: '/checkout', payload: { payment_token: '' }, headers: await s.bearer('admin') });
    problem(invalid, 422);
    assert.equal(invalid.headers['x-ratelimit-remaining'], '3');
  });

  it('other signed-in routes describe the general limit', async () => {
    const res = await s.app.inject({ url: '/orders', headers: alice });
    assert.equal(res.headers['x-ratelimit-limit'], '1000');
    assert.match(String(res.headers['ratelimit-policy']), /^"general";q=1000;w=60$/);
  });
});

describe('reports (202)', () => {
  it('202 + Location + Retry-After; polling says queued/running with Retry-After, then done with the result', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/reports/generate', headers: admin });
    assert.equal(res.statusCode, 202);
    const { job_id, status } = res.json();
    assert.equal(status, 'queued');
    assert.equal(res.headers.location, `/reports/status/${job_id}`);
    assert.equal(res.headers['retry-after'], '2');
    const poll = await s.app.inject({ url: String(res.headers.location), headers: admin });
    assert.equal(poll.statusCode, 200);
    assert.equal(poll.json().status, 'queued');
    assert.equal(poll.headers['retry-after'], '2');
    problem(await s.app.inject({ url: `/reports/${job_id}`, headers: admin }), 404);
    const worker = new ReportWorker({ db: s.db, id: 'test-worker', workMs: 100, pollMs: 50, logger: createLogger('silent', 'w') });
    await worker.tick();
    const done = await s.app.inject({ url: String(res.headers.location), headers: admin });
    assert.equal(done.json().status, 'done');
    assert.equal(done.json().result, `/reports/${job_id}`);
    assert.equal(done.headers['retry-after'], undefined);
    const report = await s.app.inject({ url: `/reports/${job_id}`, headers: admin });
    assert.equal(report.statusCode, 200);
    assert.ok(report.json().rows.some((r: { status: string }) => r.status === 'processing'));
    problem(await s.app.inject({ method: 'POST', url: '/reports/generate', headers: alice }), 403);
  });

  it('a job whose worker stopped heartbeating is taken over and finished once', async () => {
    const { job_id } = (await s.app.inject({ method: 'POST', url: '/reports/generate', headers: admin })).json();
    // A worker that claimed it and died: running, heartbeat long ago.
    await s.testDb.sql(`UPDATE report_jobs SET status = 'running', claimed_by = 'dead', heartbeat_at = now() - interval '1 minute', attempts = 1 WHERE id = $1`, [job_id]);
    const worker = new ReportWorker({ db: s.db, id: 'survivor', workMs: 50, logger: createLogger('silent', 'w') });
    await worker.tick();
    const row = (await s.testDb.sql(`SELECT status, attempts, claimed_by, result->>'generated_by' AS by FROM report_jobs WHERE id = $1`, [job_id]))[0]!;
    assert.deepEqual({ ...row }, { status: 'done', attempts: 2, claimed_by: 'survivor', by: 'survivor' });
  });
});

describe('videos (206, 416, If-Range)', () => {
  const get = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => s.app.inject({ method, url: '/videos/movie.mp4', headers });

  it('200 whole with Accept-Ranges, a strong ETag and Last-Modified', async () => {
    const res = await get();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.match(String(res.headers.etag), /^"[0-9a-f-]+"$/);
    assert.ok(res.headers['last-modified']);
    assert.ok(res.rawPayload.equals(movie));
  });

  it('Range: bytes=0-1048575 → 206, Content-Range, Content-Length 1048576, the right bytes, the 200’s ETag and Cache-Control', async () => {
    const whole = await get();
    const res = await get({ range: 'bytes=0-1048575' });
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers['content-range'], `bytes 0-1048575/${VIDEO_SIZE}`);
    assert.equal(res.headers['content-length'], '1048576');
    assert.ok(res.rawPayload.equals(movie.subarray(0, 1048576)));
    assert.equal(res.headers.etag, whole.headers.etag);
    assert.equal(res.headers['cache-control'], whole.headers['cache-control']);
  });

  it('a middle range and a suffix range', async () => {
    const mid = await get({ range: 'bytes=1000000-1000099' });
    assert.equal(mid.statusCode, 206);
    assert.ok(mid.rawPayload.equals(movie.subarray(1000000, 1000100)));
    const suffix = await get({ range: 'bytes=-500' });
    assert.equal(suffix.headers['content-range'], `bytes ${VIDEO_SIZE - 500}-${VIDEO_SIZE - 1}/${VIDEO_SIZE}`);
    assert.ok(suffix.rawPayload.equals(movie.subarray(VIDEO_SIZE - 500)));
  });

  it('an unsatisfiable range: 416 with Content-Range: bytes */size', async () => {
    const res = await get({ range: `bytes=${VIDEO_SIZE}-` });
    problem(res, 416);
    assert.equal(res.headers['content-range'], `bytes */${VIDEO_SIZE}`);
  });

  it('If-Range: the current ETag → 206; a stale one (or a weak one) → 200 whole', async () => {
    const etag = String((await get()).headers.etag);
    assert.equal((await get({ range: 'bytes=0-9', 'if-range': etag })).statusCode, 206);
    const stale = await get({ range: 'bytes=0-9', 'if-range': '"old"' });
    assert.equal(stale.statusCode, 200);
    assert.equal(stale.rawPayload.length, VIDEO_SIZE);
    assert.equal((await get({ range: 'bytes=0-9', 'if-range': `W/${etag}` })).statusCode, 200, 'If-Range needs a strong match');
  });

  it('If-None-Match → 304; HEAD ignores Range (RFC 9110 §14.2); an unknown name 404', async () => {
    const full = await get();
    const etag = String(full.headers.etag);
    const nm = await get({ 'if-none-match': etag });
    assert.equal(nm.statusCode, 304);
    assert.equal(nm.headers.etag, etag);
    assert.equal(nm.headers['cache-control'], full.headers['cache-control'], 'a 304 carries the 200’s Cache-Control (RFC 9110 §15.4.5)');
    assert.equal(full.headers['cache-control'], 'public, max-age=3600');
    assert.equal((await get({ range: 'bytes=0-9' })).headers['cache-control'], 'public, max-age=3600');
    const head = await get({ range: 'bytes=0-9' }, 'HEAD');
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], String(VIDEO_SIZE));
    problem(await s.app.inject({ url: '/videos/nope.mp4' }), 404);
    problem(await s.app.inject({ url: '/videos/..%2Fetc%2Fpasswd' }), 400);
  });
});

describe('redirects and maintenance', () => {
  it('/v1/{path} → 308 to /{path} (query kept); /legacy/products/{id} → 301', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/v1/orders?x=1', payload: { a: 1 } });
    assert.equal(r.statusCode, 308);
    assert.equal(r.headers.location, '/orders?x=1');
    const l = await s.app.inject({ url: '/legacy/products/42' });
    assert.equal(l.statusCode, 301);
    assert.equal(l.headers.location, '/products/42');
  });

  it('maintenance: GET / → 302 /maintenance.html; the API → 503 + Retry-After; off again → normal', async () => {
    assert.equal((await s.app.inject({ url: '/' })).statusCode, 200);
    s.faults.set({ maintenance: true });
    try {
      const home = await s.app.inject({ url: '/' });
      assert.equal(home.statusCode, 302);
      assert.equal(home.headers.location, '/maintenance.html');
      assert.equal((await s.app.inject({ url: '/maintenance.html' })).statusCode, 200);
      const api = await s.app.inject({ url: '/products/42' });
      problem(api, 503);
      assert.equal(api.headers['retry-after'], '10');
    } finally {
      s.faults.set({});
    }
    assert.equal((await s.app.inject({ url: '/products/42' })).statusCode, 200);
  });
});
