/**
 * The checkout (docs/status-codes.md, "The checkout, case by case"), every status of the checkout core, over real sockets against the started system:
 * the shop target and the payment sandbox as their own processes, PostgreSQL as the store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { writeFaults } from '../../src/faults.ts';
import { assertNothingInternal, problem } from '../support/assert.ts';
import { eventually, systemUnderTest, type SystemUnderTest } from '../support/system.ts';
import { signAccessToken } from '../../src/shop/auth/tokens.ts';

let t: SystemUnderTest;
let alice: Record<string, string>;
let faults: pg.Client;
before(async () => {
  t = await systemUnderTest({ DB_POOL_SIZE: '4', DB_ACQUIRE_TIMEOUT_MS: '300', TARGETS: '1' });
  alice = await t.bearer('alice');
  faults = new pg.Client({ connectionString: t.system.databaseUrl });
  await faults.connect();
});
after(async () => {
  await faults.end();
  await t.stop();
});

describe('the checkout, end to end', () => {
  it('HAPPY PATH: 201 + Location, then 200 at the Location', async () => {
    const res = await t.call('POST', '/orders', { body: { product_id: 42, quantity: 2, payment_token: 'tok_abc', reference: 'bb-happy' }, headers: alice });
    assert.equal(res.statusCode, 201);
    assert.match(String(res.headers.location), /^\/orders\/\d+$/);
    assert.equal(res.json().status, 'processing');
    const read = await t.call('GET', String(res.headers.location), { headers: alice });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().reference, 'bb-happy');
  });

  it('AUTHENTICATION FAILURE: an expired JWT → 401, invalid_token, "Token expired"; refresh → retry → 201', async () => {
    const secret = fs.readFileSync(path.join(t.dataDir, 'jwt-secret'), 'utf8').trim();
    const now = Math.floor(Date.now() / 1000);
    const expired = await signAccessToken(secret, { id: 1, role: 'customer' }, { issuedAt: now - 7200, expiresAt: now - 3600 });
    const body = { product_id: 42, quantity: 1, payment_token: 'tok', reference: 'bb-auth' };
    const res = await t.call('POST', '/orders', { body, headers: { authorization: `Bearer ${expired}` } });
    problem(res, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="receipt", error="invalid_token", error_description="Token expired"');
    const pair = (await t.call('POST', '/auth/token', { body: { username: 'alice', password: 'alice-pass' } })).json();
    const fresh = (await t.call('POST', '/auth/refresh', { body: { refresh_token: pair.refresh_token } })).json();
    const retry = await t.call('POST', '/orders', { body, headers: { authorization: `Bearer ${fresh.access_token}` } });
    assert.equal(retry.statusCode, 201);
    problem(await t.call('GET', '/orders'), 401);
  });

  it('AUTHORIZATION FAILURE: a customer asking for all orders → 403 {required_role: "admin"}', async () => {
    assert.equal(problem(await t.call('GET', '/admin/orders', { headers: alice }), 403).required_role, 'admin');
  });

  it('VALIDATION FAILURE: 422 with both errors; a type error is 400 naming the field', async () => {
    const body = problem(await t.call('POST', '/orders', { body: { product_id: 42, quantity: -1, payment_token: '' }, headers: alice }), 422);
    assert.deepEqual((body.errors as Array<{ field: string }>).map((e) => e.field), ['quantity', 'payment_token']);
    assert.equal(problem(await t.call('POST', '/orders', { body: { quantity: 'two' }, headers: alice }), 400).field, 'quantity');
  });

  it("NOT FOUND: a missing order and someone else's answer the same 404", async () => {
    const mine = (await t.call('POST', '/orders', { body: { product_id: 43, quantity: 1, payment_token: 't', reference: 'bb-mine' }, headers: alice })).json();
    const bob = await t.bearer('bob');
    const a = problem(await t.call('GET', `/orders/${mine.id}`, { headers: bob }), 404);
    const b = problem(await t.call('GET', '/orders/99999', { headers: bob }), 404);
    assert.equal(b.order_id, 99999);
    assert.equal(a.detail, b.detail);
  });

  it('CONFLICT: an email another account holds → 409', async () => {
    const me = (await t.testDb.sql(`SELECT id::int AS id FROM users WHERE username = 'alice'`))[0]!.id;
    problem(await t.call('PUT', `/users/${me}`, { body: { email: 'bob@example.com' }, headers: alice }), 409);
  });

  it('a replayed POST with the same Idempotency-Key: the first answer, one order, one charge', async () => {
    const body = { product_id: 42, quantity: 1, payment_token: 'tok', reference: 'bb-idem' };
    const headers = { ...alice, 'idempotency-key': 'bb-key-1' };
    const [a, b] = [await t.call('POST', '/orders', { body, headers }), await t.call('POST', '/orders', { body, headers })];
    assert.equal(a.statusCode, 201);
    assert.equal(b.statusCode, 201);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.equal((await t.testDb.sql(`SELECT count(*)::int AS n FROM orders WHERE reference = 'bb-idem'`))[0]!.n, 1);
    assert.equal((await t.testDb.sql(`SELECT count(*)::int AS n FROM sandbox.charges WHERE reference = 'bb-idem'`))[0]!.n, 1);
    const found = (await t.call('GET', '/orders?reference=bb-idem', { headers: alice })).json();
    assert.equal(found[0].id, a.json().id);
  });
});

describe('the section 2 codes over the wire', () => {
  it('304, 405 + Allow, 412, 410, 404, 415, 413', async () => {
    const etag = String((await t.call('GET', '/products/42')).headers.etag);
    const nm = await t.call('GET', '/products/42', { headers: { 'if-none-match': etag } });
    assert.equal(nm.statusCode, 304);
    assert.equal(nm.body, '');
    const del = await t.call('DELETE', '/products');
    problem(del, 405);
    assert.equal(del.headers.allow, 'GET, HEAD, POST, OPTIONS');
    const admin = await t.bearer('admin');
    const created = await t.call('POST', '/products', { body: { name: 'Lamp', price_cents: 10, stock: 1 }, headers: admin });
    const loc = String(created.headers.location);
    problem(await t.call('PUT', loc, { body: { name: 'Lamp 2', price_cents: 10, stock: 1 }, headers: { ...admin, 'if-match': '"stale"' } }), 412);
    assert.equal((await t.call('DELETE', loc, { headers: admin })).statusCode, 204);
    problem(await t.call('GET', loc), 410);
    problem(await t.call('GET', '/products/99999'), 404);
    problem(await t.call('POST', '/orders', { raw: 'a=b', headers: { ...alice, 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    problem(await t.call('POST', '/orders', { raw: JSON.stringify({ payment_token: 'x'.repeat(100_000) }), headers: { ...alice, 'content-type': 'application/json' } }), 413);
  });
});

describe('injected faults reach the target process', () => {
  it('db_pool_exhausted → 503 + Retry-After (the database out of connections), then back to 200', async () => {
    await writeFaults(faults, { db_pool_exhausted: true });
    try {
      await eventually(async () => (await t.call('GET', '/orders', { headers: alice })).statusCode === 503, 5000, 'the 503');
      const res = await t.call('POST', '/orders', { body: { product_id: 42, quantity: 1, payment_token: 't' }, headers: alice });
      problem(res, 503);
      assert.match(String(res.headers['retry-after']), /^\d+$/);
      assertNothingInternal(res.body);
    } finally {
      await writeFaults(faults, {});
    }
    await eventually(async () => (await t.call('GET', '/orders', { headers: alice })).statusCode === 200, 5000, 'recovery');
  });

  it('throw_on → 500 with a request id and nothing internal; the JSON log has the stack under that id', async () => {
    await writeFaults(faults, { throw_on: 'GET /admin/reports' });
    try {
      const admin = await t.bearer('admin');
      let res = await t.call('GET', '/admin/reports', { headers: admin });
      await eventually(async () => (res = await t.call('GET', '/admin/reports', { headers: admin })).statusCode === 500, 5000, 'the 500');
      const body = problem(res, 500);
      assert.equal(res.headers['retry-after'], undefined);
      assertNothingInternal(res.body);
      await eventually(async () => t.logs.some((l) => l.reqId === body.request_id && l.level === 50), 2000, 'the log line');
      const line = t.logs.find((l) => l.reqId === body.request_id && l.level === 50)!;
      assert.equal(line.service, 'shop-1');
      assert.match(String((line.err as { stack: string }).stack), /InjectedFault/);
    } finally {
      await writeFaults(faults, {});
    }
  });
});

describe('stopping', () => {
  it('SIGTERM lets an in-flight request finish before the target exits', async () => {
    await writeFaults(faults, { target_latency_ms: 600 });
    await new Promise((r) => setTimeout(r, 200));
    let answered = false;
    const inflight = t.call('GET', '/products/42').finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 150));
    // Otherwise the test proves nothing: the fault must have reached the target, holding the request open.
    assert.equal(answered, false, 'the request is still in flight when the target is told to stop');
    const stopped = t.system.targets[0]!.stop();
    const res = await inflight;
    await stopped;
    assert.equal(res.statusCode, 200);
    assert.equal(t.system.targets[0]!.running, false);
    await writeFaults(faults, {});
  });
});
