import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingInternal, problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

let s: ShopUnderTest;
let alice: Record<string, string>;
before(async () => {
  s = await shopUnderTest({ DB_POOL_SIZE: '3', DB_ACQUIRE_TIMEOUT_MS: '200' });
  alice = await s.bearer('alice');
});
after(() => s.close());

const raw = (payload: string, contentType = 'application/json', url = '/orders') =>
  s.app.inject({ method: 'POST', url, payload, headers: { ...alice, 'content-type': contentType } });

describe('bad input gets a clear 4xx problem, never a 500', () => {
  it('malformed JSON: 400', async () => {
    const body = problem(await raw('{"product_id": 42,'), 400);
    assert.match(String(body.detail), /not valid JSON/);
  });

  it('a non-JSON content type: 415', async () => {
    problem(await raw('product_id=42', 'application/x-www-form-urlencoded'), 415);
    problem(await raw('hello', 'text/plain'), 415);
  });

  it('a body over 64 KiB: 413', async () => {
    problem(await raw(JSON.stringify({ payment_token: 'x'.repeat(70 * 1024) })), 413);
  });

  it('deep nesting within the limit: 400, not a crash', async () => {
    const deep = '{"product_id":' + '['.repeat(20000) + ']'.repeat(20000) + '}';
    problem(await raw(deep), 400);
  });

  it('top-level array, null, empty body, prototype poisoning, unknown fields: 400', async () => {
    for (const payload of ['[]', 'null', '', '{"__proto__":{"admin":true}}', '{"product_id":42,"quantity":1,"payment_token":"t","price":0}']) {
      const res = await raw(payload);
      assert.equal(res.statusCode, 400, `${payload}: ${res.body}`);
    }
  });

  it('numbers that are not integers, or too big: 400 or 422, never 500', async () => {
    for (const q of ['1.5', '1e309', '9007199254740993', '-0', '"1"', 'true']) {
      const res = await raw(`{"product_id":42,"quantity":${q},"payment_token":"t"}`);
      assert.ok([400, 422].includes(res.statusCode), `quantity ${q}: ${res.statusCode} ${res.body}`);
    }
  });

  it('a hundred random bodies: every answer a 4xx problem or a 201', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const values = [null, true, 0, -1, 1, 2 ** 53, 1.25, '', 'x', '42', [], {}, [1, 2], { a: 1 }, 'tok', 42, 43, 99999];
    for (let i = 0; i < 100; i++) {
      const body: Record<string, unknown> = {};
      for (const k of ['product_id', 'quantity', 'payment_token', 'reference', 'extra']) if (rnd() < 0.8) body[k] = values[Math.floor(rnd() * values.length)];
      const res = await raw(JSON.stringify(body));
      assert.ok(res.statusCode < 500, `${JSON.stringify(body)} → ${res.statusCode} ${res.body}`);
      if (res.statusCode >= 400) problem(res, res.statusCode);
    }
  });

  it('an odd request id from outside is replaced, a sane one is kept', async () => {
    assert.equal((await s.app.inject({ url: '/products/42', headers: { 'x-request-id': 'abc-123' } })).headers['x-request-id'], 'abc-123');
    assert.notEqual((await s.app.inject({ url: '/products/42', headers: { 'x-request-id': 'a b\u0001' } })).headers['x-request-id'], 'a b\u0001');
  });
});

describe('503: the database pool exhausted (docs/status-codes.md, "The checkout, case by case")', () => {
  it('every connection taken: 503 + Retry-After within the acquire timeout, then normal again', async () => {
    await s.db.exhaust();
    try {
      const res = await s.app.inject({ url: '/orders', headers: alice });
      const body = problem(res, 503);
      assert.equal(res.headers['retry-after'], '10');
      assert.equal(body.dependency, 'database');
      assertNothingInternal(res.body);
      // No rate-limit fields on this 503: reading the limit's store would wait on the same missing database again.
      assert.equal(res.headers['x-ratelimit-limit'], undefined);
      const pub = await s.app.inject({ url: '/products/42' });
      problem(pub, 503);
    } finally {
      s.db.release();
    }
    assert.equal((await s.app.inject({ url: '/orders', headers: alice })).statusCode, 200);
  });

  it('really held connections elsewhere (not the fault flag): the acquire times out into a 503', async () => {
    const held = await Promise.all([s.db.pool.connect(), s.db.pool.connect(), s.db.pool.connect()]);
    try {
      const res = await s.app.inject({ url: '/products/42' });
      problem(res, 503);
      assert.equal(res.headers['retry-after'], '10');
    } finally {
      for (const c of held) c.release();
    }
  });
});

describe('500: a bug (no Retry-After: waiting will not fix it)', () => {
  it('a throwing handler: 500 problem with the request id, no internals, no Retry-After; the stack goes to the log', async () => {
    s.faults.set({ throw_on: 'GET /orders' });
    try {
      const res = await s.app.inject({ url: '/orders', headers: alice });
      const body = problem(res, 500);
      assert.equal(res.headers['retry-after'], undefined);
      assertNothingInternal(res.body);
      const line = s.logs.find((l) => l.reqId === body.request_id && l.level === 50);
      assert.ok(line, 'an error line with the request id');
      assert.match(line!.err!.stack, /fault injected/);
      // And one line for the request itself, when it was answered (no arrival line): same id, method, url, status.
      const requestLines = s.logs.filter((l) => l.reqId === body.request_id && !l.err);
      assert.deepEqual(requestLines.map((l) => l.msg), ['request completed']);
      const line1 = requestLines[0] as unknown as { request: { method: string; url: string }; res: { statusCode: number } };
      assert.deepEqual([line1.request.method, line1.request.url, line1.res.statusCode], ['GET', '/orders', 500]);
    } finally {
      s.faults.set({});
    }
  });
});
