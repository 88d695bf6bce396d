/**
 * The payment provider's circuit breaker (the "circuit breaker open" 503): with the provider failing every
 * call, at most a handful of orders reach it before the breaker opens; then orders are answered 503 at once, with a
 * Retry-After of the time until half-open, nothing written and nothing charged; once the provider is back and the
 * breaker half-opens, the next order goes through and closes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

const HALF_OPEN_MS = 1500;
let s: ShopUnderTest;
let alice: Record<string, string>;
before(async () => {
  s = await shopUnderTest({ PAYMENT_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS), RATE_LIMIT: '10000' });
  alice = await s.bearer('alice');
});
after(() => s.close());

let n = 0;
const order = () =>
  s.app.inject({ method: 'POST', url: '/orders', headers: alice, payload: { product_id: 42, quantity: 1, payment_token: 'tok_abc', reference: `breaker-${++n}` } });
const ordersWritten = async () => ((await s.app.inject({ url: '/orders', headers: alice })).json() as unknown[]).length;

describe('the payment circuit breaker', () => {
  it('opens after consecutive failures: no more than 10 orders reach the provider, the rest are refused at once', async () => {
    s.faults.set({ payment_failure_rate: 1 });
    const before = await ordersWritten();
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await order());
    const reached = (await ordersWritten()) - before;
    assert.ok(reached >= 1 && reached <= 10, `${reached} orders reached the provider`);
    assert.ok(answers.every((a) => a.statusCode === 503));
    const last = problem(answers[answers.length - 1]!, 503);
    const retryAfter = Number(answers[answers.length - 1]!.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= Math.ceil(HALF_OPEN_MS / 1000), `Retry-After ${retryAfter}`);
    assert.equal(last.status, 503);
  });

  it('while open: 503 before anything is written', async () => {
    const before = await ordersWritten();
    assert.equal((await order()).statusCode, 503);
    assert.equal(await ordersWritten(), before);
  });

  it('provider back, breaker half-open: the next order is charged (201), and the breaker closes', async () => {
    s.faults.set({});
    await new Promise((r) => setTimeout(r, HALF_OPEN_MS + 200));
    assert.equal((await order()).statusCode, 201);
    assert.equal((await order()).statusCode, 201);
  });
});
