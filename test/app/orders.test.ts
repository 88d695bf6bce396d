import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

let s: ShopUnderTest;
let alice: Record<string, string>;
let bob: Record<string, string>;
before(async () => {
  s = await shopUnderTest();
  alice = await s.bearer('alice');
  bob = await s.bearer('bob');
});
after(() => s.close());

const order = (payload: unknown, headers: Record<string, string> = alice) => s.app.inject({ method: 'POST', url: '/orders', payload: payload as object, headers });
const charges = async (reference: string) => (await s.testDb.sql(`SELECT count(*)::int AS n FROM sandbox.charges WHERE reference = $1`, [reference]))[0]!.n as number;
const ordersWith = async (reference: string) => (await s.testDb.sql(`SELECT count(*)::int AS n FROM orders WHERE reference = $1`, [reference]))[0]!.n as number;

describe('POST /orders — the checkout, case by case', () => {
  it('happy path: 201 + Location, paid once, readable at the Location', async () => {
    const res = await order({ product_id: 42, quantity: 2, payment_token: 'tok_abc', reference: 'happy-1' });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.equal(res.headers.location, `/orders/${body.id}`);
    assert.equal(body.status, 'processing');
    assert.equal(body.reference, 'happy-1');
    assert.equal(body.amount_cents, 2 * 7999);
    assert.match(body.charge_id, /^ch_/);
    assert.equal(await charges('happy-1'), 1);
    const read = await s.app.inject({ url: String(res.headers.location), headers: alice });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().id, body.id);
  });

  it('{"quantity":"two"}: 400 naming quantity (a type error, not a business rule)', async () => {
    const body = problem(await order({ product_id: 42, quantity: 'two', payment_token: 'tok' }), 400);
    assert.equal(body.field, 'quantity');
    assert.match(String(body.detail), /quantity must be an integer/);
  });

  it('a malformed body is judged before the token: 400 even without Authorization (the order of the checks)', async () => {
    problem(await order({ product_id: 42, quantity: 'two', payment_token: 'tok' }, {}), 400);
    problem(await order({ product_id: 42, quantity: 2, payment_token: 'tok' }, {}), 401);
  });

  it('{"quantity":-1,"payment_token":""}: 422 with both errors', async () => {
    const body = problem(await order({ product_id: 42, quantity: -1, payment_token: '' }), 422);
    assert.deepEqual(body.errors, [
      { field: 'quantity', message: 'Must be between 1 and 100' },
      { field: 'payment_token', message: 'Required' },
    ]);
  });

  it('quantity 101 and an unknown product: 422 naming each field', async () => {
    assert.equal((problem(await order({ product_id: 42, quantity: 101, payment_token: 't' }), 422).errors as Array<{ field: string }>)[0]!.field, 'quantity');
    const body = problem(await order({ product_id: 99999, quantity: 1, payment_token: 't' }), 422);
    assert.deepEqual(body.errors, [{ field: 'product_id', message: 'Not found' }]);
  });

  it('more than the stock: 422, and nothing is reserved', async () => {
    await s.testDb.sql(`UPDATE products SET stock = 1 WHERE id = 43`);
    const body = problem(await order({ product_id: 43, quantity: 2, payment_token: 't' }), 422);
    assert.match(JSON.stringify(body.errors), /Only 1 in stock/);
    assert.equal((await s.testDb.sql(`SELECT stock FROM products WHERE id = 43`))[0]!.stock, 1);
    await s.testDb.sql(`UPDATE products SET stock = 1000 WHERE id = 43`);
  });
});

describe('idempotency (draft-ietf-httpapi-idempotency-key-header)', () => {
  it('the same Idempotency-Key and body: the first answer again, one order, one charge', async () => {
    const payload = { product_id: 42, quantity: 1, payment_token: 'tok', reference: 'idem-1' };
    const headers = { ...alice, 'idempotency-key': '"8e03978e-40d5-43e8-bc93-6894a57f9324"' };
    const first = await order(payload, headers);
    const second = await order(payload, headers);
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.headers.location, first.headers.location);
    assert.deepEqual(second.json(), first.json());
    assert.equal(await ordersWith('idem-1'), 1);
    assert.equal(await charges('idem-1'), 1);
  });

  it('the same key with a different body: 422, and no second order', async () => {
    const headers = { ...alice, 'idempotency-key': 'key-2' };
    assert.equal((await order({ product_id: 42, quantity: 1, payment_token: 'tok', reference: 'idem-2' }, headers)).statusCode, 201);
    problem(await order({ product_id: 42, quantity: 3, payment_token: 'tok', reference: 'idem-2' }, headers), 422);
    assert.equal(await ordersWith('idem-2'), 1);
  });

  it('a reference alone is an idempotency key too; the same reference with another body is 422', async () => {
    const payload = { product_id: 43, quantity: 1, payment_token: 'tok', reference: 'ref-only' };
    const a = await order(payload);
    const b = await order(payload);
    assert.equal(b.json().id, a.json().id);
    problem(await order({ ...payload, quantity: 2 }), 422);
    assert.equal(await charges('ref-only'), 1);
  });

  it('while the first request with a key is in flight, a second gets 409; then the first answer', async () => {
    s.faults.set({ payment_latency_ms: 400 });
    try {
      const payload = { product_id: 42, quantity: 1, payment_token: 'tok', reference: 'inflight-1' };
      const headers = { ...alice, 'idempotency-key': 'key-inflight' };
      const slow = order(payload, headers);
      await new Promise((r) => setTimeout(r, 150));
      const clash = await order(payload, headers);
      const clashBody = problem(clash, 409);
      assert.match(String(clashBody.detail), /still being processed/);
      assert.equal((await slow).statusCode, 201);
      assert.equal((await order(payload, headers)).headers['idempotent-replayed'], 'true');
      assert.equal(await charges('inflight-1'), 1);
    } finally {
      s.faults.set({});
    }
  });

  it('ten concurrent identical requests make one order and one charge', async () => {
    s.faults.set({ payment_latency_ms: 100 });
    try {
      const payload = { product_id: 42, quantity: 1, payment_token: 'tok', reference: 'burst-1' };
      const results = await Promise.all(Array.from({ length: 10 }, () => order(payload, { ...alice, 'idempotency-key': 'burst-key' })));
      const codes = results.map((r) => r.statusCode);
      assert.ok(codes.every((c) => c === 201 || c === 409), codes.join(','));
      assert.ok(codes.includes(201));
      assert.equal(await ordersWith('burst-1'), 1);
      assert.equal(await charges('burst-1'), 1);
    } finally {
      s.faults.set({});
    }
  });

  it('the payment provider failing: 503 + Retry-After; a retry with the same key completes, charged once', async () => {
    const payload = { product_id: 42, quantity: 1, payment_token: 'tok', reference: 'provider-down' };
    const headers = { ...alice, 'idempotency-key': 'key-provider' };
    s.faults.set({ payment_failure_rate: 1 });
    const down = await order(payload, headers);
    s.faults.set({});
    assert.equal(problem(down, 503).dependency, 'payments');
    assert.equal(down.headers['retry-after'], '10');
    const pending = (await s.app.inject({ url: '/orders?reference=provider-down', headers: alice })).json();
    assert.equal(pending[0].status, 'pending', 'the order exists, waiting for its payment');
    const retry = await order(payload, headers);
    assert.equal(retry.statusCode, 201);
    assert.equal(retry.json().status, 'processing');
    assert.equal(retry.json().id, pending[0].id);
    assert.equal(await charges('provider-down'), 1);
  });

  it('a key whose request died holding it (lease run out) is taken over by the retry: 201, not 409 for ever', async () => {
    // What a request leaves when its process dies (or its database went away) between charging and answering.
    const payload = { product_id: 42, quantity: 1, payment_token: 'tok', reference: 'abandoned-1' };
    const headers = { ...alice, 'idempotency-key': 'key-abandoned' };
    s.faults.set({ payment_failure_rate: 1 });
    problem(await order(payload, headers), 503);
    s.faults.set({});
    const { fingerprint } = await import('../../src/shop/idempotency.ts');
    await s.testDb.sql(
      `INSERT INTO idempotency_keys (user_id, key, fingerprint, state, locked_until) SELECT id, 'key:key-abandoned', $1, 'in_flight', now() + interval '1 minute' FROM users WHERE username = 'alice'`,
      [fingerprint([payload.product_id, payload.quantity, payload.payment_token, payload.reference])],
    );
    problem(await order(payload, headers), 409); // its lease still runs: someone may be working on it
    await s.testDb.sql(`UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = 'key:key-abandoned'`);
    const retry = await order(payload, headers);
    assert.equal(retry.statusCode, 201);
    assert.equal(retry.json().status, 'processing');
    assert.equal(await charges('abandoned-1'), 1);
  });

  it('a key older than 24 hours counts as new (the published expiry); the reference still prevents a second order', async () => {
    const headers = { ...alice, 'idempotency-key': 'old-key' };
    assert.equal((await order({ product_id: 42, quantity: 1, payment_token: 'tok', reference: 'aged-1' }, headers)).statusCode, 201);
    problem(await order({ product_id: 42, quantity: 1, payment_token: 'tok', reference: 'aged-2' }, headers), 422);
    await s.testDb.sql(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'key:old-key'`);
    const reused = await order({ product_id: 42, quantity: 1, payment_token: 'tok', reference: 'aged-2' }, headers);
    assert.equal(reused.statusCode, 201, 'the expired key no longer binds the body');
    assert.equal(reused.headers['idempotent-replayed'], undefined);
    assert.equal(await ordersWith('aged-1'), 1);
    assert.equal(await ordersWith('aged-2'), 1);
    const { pruneKeys } = await import('../../src/shop/store/idempotency-keys.ts');
    await s.testDb.sql(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'key:old-key'`);
    assert.equal(await pruneKeys(s.db), 1);
  });

  it('a malformed Idempotency-Key is 400 naming the header', async () => {
    const body = problem(await order({ product_id: 42, quantity: 1, payment_token: 't' }, { ...alice, 'idempotency-key': '' }), 400);
    assert.equal(body.field, 'Idempotency-Key');
  });
});

describe('reading and cancelling orders', () => {
  it("someone else's order is 404 with the same body shape as a missing one, never 403", async () => {
    const mine = (await order({ product_id: 42, quantity: 1, payment_token: 't', reference: 'private-1' })).json();
    const theirs = await s.app.inject({ url: `/orders/${mine.id}`, headers: bob });
    const missing = await s.app.inject({ url: '/orders/99999999', headers: bob });
    const a = problem(theirs, 404);
    const b = problem(missing, 404);
    assert.equal(a.order_id, mine.id);
    assert.equal(b.order_id, 99999999);
    const shape = (o: Record<string, unknown>) => Object.keys(o).sort().join(',');
    assert.equal(shape(a), shape(b));
    assert.equal(a.detail, b.detail);
    assert.equal((await s.app.inject({ url: `/orders/${mine.id}`, headers: await s.bearer('admin') })).statusCode, 200, 'admins see any order');
    problem(await s.app.inject({ method: 'DELETE', url: `/orders/${mine.id}`, headers: bob }), 404);
  });

  it('GET /orders lists only mine; ?reference= finds one or []', async () => {
    await order({ product_id: 42, quantity: 1, payment_token: 't', reference: 'listed-1' });
    const mine = (await s.app.inject({ url: '/orders', headers: alice })).json() as Array<{ reference: string }>;
    assert.ok(mine.some((o) => o.reference === 'listed-1'));
    const bobs = (await s.app.inject({ url: '/orders', headers: bob })).json() as unknown[];
    assert.deepEqual(bobs, []);
    const found = (await s.app.inject({ url: '/orders?reference=listed-1', headers: alice })).json();
    assert.equal(found.length, 1);
    assert.deepEqual((await s.app.inject({ url: '/orders?reference=listed-1', headers: bob })).json(), []);
    assert.deepEqual((await s.app.inject({ url: '/orders?reference=never', headers: alice })).json(), []);
  });

  it('DELETE cancels: 204, then 410, and the stock comes back', async () => {
    const stock = async () => (await s.app.inject({ url: '/products/43' })).json().stock as number;
    const before = await stock();
    const o = (await order({ product_id: 43, quantity: 3, payment_token: 't', reference: 'cancel-1' })).json();
    assert.equal(await stock(), before - 3);
    const del = await s.app.inject({ method: 'DELETE', url: `/orders/${o.id}`, headers: alice });
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
    problem(await s.app.inject({ url: `/orders/${o.id}`, headers: alice }), 410);
    problem(await s.app.inject({ method: 'DELETE', url: `/orders/${o.id}`, headers: alice }), 410);
    assert.equal(await stock(), before);
  });
});

describe('admin routes', () => {
  it('a customer: 403 {"required_role":"admin"}; admin: 200', async () => {
    for (const url of ['/admin/orders', '/admin/reports']) {
      assert.equal(problem(await s.app.inject({ url, headers: alice }), 403).required_role, 'admin');
      const ok = await s.app.inject({ url, headers: await s.bearer('admin') });
      assert.equal(ok.statusCode, 200);
      assert.ok(Array.isArray(ok.json()));
    }
  });
});
