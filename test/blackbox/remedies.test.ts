/**
 * The remedies for 503 and 504 (docs/reliability.md), over real sockets through the gateway, with real target processes:
 *  - the payment circuit breaker ("circuit breaker open" → 503 + Retry-After, nothing written, nothing charged);
 *  - async checkout (`Prefer: respond-async`, RFC 7240): 202 at once, the order paid by a worker, so a payment slower
 *    than the gateway's idle timeout never becomes a 504; a claim survives the death of the target that held it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ReceiptClient } from '../../src/client/index.ts';
import { writeFaults, type FaultDoc } from '../../src/faults.ts';
import { problem } from '../support/assert.ts';
import { eventually, fastHealthChecks, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

const IDLE_TIMEOUT_MS = 1500;
const HALF_OPEN_MS = 2000;
let t: SystemUnderTest;
let db: pg.Client;
let alice: Record<string, string>;
const faults = async (doc: FaultDoc) => {
  await writeFaults(db, doc);
  await new Promise((r) => setTimeout(r, 200)); // every process follows the NOTIFY
};
const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);

before(async () => {
  t = await systemUnderTest(
    { TARGETS: '2', PAYMENT_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS), PAYMENT_TIMEOUT_MS: '10000', RATE_LIMIT: '100000', RETRY_AFTER_S: '1' },
    { gatewayConfig: fastHealthChecks({ idleTimeoutMs: IDLE_TIMEOUT_MS }) },
  );
  db = new pg.Client({ connectionString: t.system.databaseUrl });
  await db.connect();
  alice = await t.bearer('alice');
});
after(async () => {
  await db.end();
  await t.stop();
});

let n = 0;
const order = (extra: Record<string, string> = {}, body: Record<string, unknown> = {}) =>
  t.call('POST', '/orders', { body: { product_id: 42, quantity: 1, payment_token: 'tok_abc', reference: `rem-${++n}`, ...body }, headers: { ...alice, ...extra } });

describe('the payment circuit breaker, through the gateway', () => {
  it('provider failing: at most 10 orders reach it, then 503 at once with Retry-After ≤ the half-open time; nothing written', async () => {
    await faults({ payment_failure_rate: 1 });
    const written = () => count(`SELECT count(*) AS n FROM orders WHERE reference LIKE 'rem-%'`);
    const before = await written();
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await order());
    assert.ok(answers.every((a) => a.statusCode === 503), answers.map((a) => a.statusCode).join(' '));
    const reached = (await written()) - before;
    // Two targets, one breaker each: each lets its 5 consecutive failures through, then opens.
    assert.ok(reached >= 2 && reached <= 10, `${reached} orders reached the provider`);
    const last = answers.at(-1)!;
    assert.equal(problem(last, 503).dependency, 'payments');
    const retryAfter = Number(last.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= Math.ceil(HALF_OPEN_MS / 1000), `Retry-After ${retryAfter}`);
    // While open: refused before anything is written.
    const still = await written();
    assert.equal((await order()).statusCode, 503);
    assert.equal(await written(), still);
  });

  it('the breakers are visible in the faults document and in each target’s /metrics', async () => {
    const doc = (await t.control('GET', '/faults')).json();
    assert.equal(doc.payment_failure_rate, 1);
    assert.deepEqual(Object.keys(doc.payment_breaker).sort(), ['shop-1', 'shop-2']);
    for (const b of Object.values(doc.payment_breaker) as Array<{ state: string; half_open_at?: string }>) {
      assert.equal(b.state, 'open');
      assert.ok(Date.parse(b.half_open_at!) > Date.now() - 5000);
    }
    // What GET gave can be PUT back: the read-only member is accepted and ignored.
    assert.equal((await t.control('PUT', '/faults', doc)).statusCode, 200);
    const target = t.system.targets[0]!;
    const { request } = await import('undici');
    const metrics = await (await request(`http://127.0.0.1:${target.port}/metrics`, { headers: { authorization: `Bearer ${t.system.controlToken}` } })).body.text();
    assert.match(metrics, /receipt_shop_payment_breaker_state\{state="open"\} 1/);
  });

  it('provider back: the SDK waits the Retry-After and its retry goes through (201); the breakers close', async () => {
    await faults({});
    const client = new ReceiptClient({ baseUrl: t.system.url, credentials: { username: 'alice', password: 'alice-pass' }, retry: { limit: 3, maxDelayMs: 5000 } });
    const placed = await client.createOrder({ product_id: 42, quantity: 1, payment_token: 'tok_abc' });
    assert.equal(placed.order.status, 'processing');
    assert.ok(client.requestsSent >= 2, 'at least one 503 was waited out');
    await eventually(async () => {
      for (let i = 0; i < 4; i++) if ((await order()).statusCode !== 201) return false;
      return true;
    }, HALF_OPEN_MS * 3, 'both breakers closed');
    const doc = (await t.control('GET', '/faults')).json();
    assert.deepEqual(Object.values(doc.payment_breaker).map((b) => (b as { state: string }).state), ['closed', 'closed']);
  });
});

describe('async checkout: Prefer: respond-async (RFC 7240)', () => {
  it('202 Accepted with Location, Retry-After, Preference-Applied and Vary; the order goes pending → processing', async () => {
    const res = await order({ prefer: 'respond-async' });
    assert.equal(res.statusCode, 202);
    assert.match(String(res.headers.location), /^\/orders\/\d+$/);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.headers['preference-applied'], 'respond-async');
    assert.match(String(res.headers.vary), /prefer/i);
    assert.equal(res.json().status, 'pending');
    await eventually(async () => (await t.call('GET', String(res.headers.location), { headers: alice })).json().status === 'processing', 10_000, 'paid');
    const id = res.json().id;
    assert.equal(await count(`SELECT count(*) AS n FROM sandbox.charges WHERE idempotency_key = $1`, [`order-${id}`]), 1);
  });

  it('a payment slower than the gateway idle timeout: synchronously a 504; asynchronously 202, then paid — no 504', async () => {
    await faults({ payment_latency_ms: IDLE_TIMEOUT_MS + 1000 });
    try {
      const sync = await order();
      assert.equal(sync.statusCode, 504);
      const t0 = Date.now();
      const accepted = await order({ prefer: 'respond-async' });
      assert.equal(accepted.statusCode, 202);
      assert.ok(Date.now() - t0 < IDLE_TIMEOUT_MS, 'answered before the payment finished');
      const poll = await t.call('GET', String(accepted.headers.location), { headers: alice });
      assert.equal(poll.json().status, 'pending');
      assert.equal(poll.headers['retry-after'], '1');
      await eventually(async () => (await t.call('GET', String(accepted.headers.location), { headers: alice })).json().status === 'processing', 15_000, 'paid');
    } finally {
      await faults({});
    }
  });

  it('the same request again (same Idempotency-Key) replays the 202: one order, one charge', async () => {
    const key = { prefer: 'respond-async', 'idempotency-key': 'async-replay-1' };
    const first = await order(key, { reference: 'rem-replay' });
    const again = await order(key, { reference: 'rem-replay' });
    assert.equal(first.statusCode, 202);
    assert.equal(again.statusCode, 202);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.headers.location, first.headers.location);
    await eventually(async () => (await t.call('GET', String(first.headers.location), { headers: alice })).json().status === 'processing', 10_000, 'paid');
    assert.equal(await count(`SELECT count(*) AS n FROM orders WHERE reference = 'rem-replay'`), 1);
  });

  it('a declined card: 202, then failed (the stock back on sale); synchronously it is a 402 problem', async () => {
    const stock = async () => (await t.call('GET', '/products/43')).json().stock as number;
    const before = await stock();
    const res = await order({ prefer: 'respond-async' }, { product_id: 43, payment_token: 'tok_declined' });
    assert.equal(res.statusCode, 202);
    await eventually(async () => (await t.call('GET', String(res.headers.location), { headers: alice })).json().status === 'failed', 10_000, 'failed');
    const failed = (await t.call('GET', String(res.headers.location), { headers: alice })).json();
    assert.match(failed.failure, /declined/);
    assert.equal(await stock(), before);
    const sync = await order({}, { product_id: 43, payment_token: 'tok_declined' });
    const body = problem(sync, 402);
    assert.match(String(body.type), /payment-declined$/);
    assert.equal(await stock(), before);
  });

  it('the target holding the claim is killed mid-payment: another target finishes the order, charged once', async () => {
    await faults({ payment_latency_ms: 2500 });
    let id: number;
    try {
      const res = await order({ prefer: 'respond-async' });
      id = res.json().id;
      let holder = '';
      await eventually(async () => {
        holder = (await db.query(`SELECT claimed_by FROM orders WHERE id = $1`, [id])).rows[0].claimed_by ?? '';
        return holder !== '';
      }, 5000, 'claimed');
      assert.equal((await t.control('POST', `/targets/${holder}/kill`)).statusCode, 200);
      await faults({});
      await eventually(async () => (await db.query(`SELECT status FROM orders WHERE id = $1`, [id])).rows[0].status === 'processing', 20_000, 'paid by the other target');
      const finisher = (await db.query(`SELECT claimed_by, charge_id FROM orders WHERE id = $1`, [id])).rows[0];
      assert.ok(finisher.charge_id);
      assert.equal(await count(`SELECT count(*) AS n FROM sandbox.charges WHERE idempotency_key = $1`, [`order-${id}`]), 1);
      await t.control('POST', `/targets/${holder}/start`);
    } finally {
      await faults({});
    }
  });

  it('the SDK: createOrder({ async: true }) polls the Location as Retry-After says and returns the settled order', async () => {
    const client = new ReceiptClient({ baseUrl: t.system.url, credentials: { username: 'alice', password: 'alice-pass' } });
    const placed = await client.createOrder({ product_id: 42, quantity: 1, payment_token: 'tok_abc' }, { async: true });
    assert.equal(placed.outcome, 'accepted');
    assert.equal(placed.order.status, 'processing');
    assert.match(placed.trail[0]!, /^POST \/orders 202/);
    assert.match(placed.trail.at(-1)!, /\(processing\)$/);
  });
});
