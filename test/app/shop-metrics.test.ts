/**
 * The shop's own metrics: each answer counted by route, status and the decision step that decided it — "why are
 * there 4xx?" answered by "401 from authenticate". Plus the request-duration histogram and database pool waits;
 * /metrics only with the control token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

let s: ShopUnderTest;
before(async () => (s = await shopUnderTest({}, { metricsToken: 'metrics-token' })));
after(() => s.close());

const metrics = async () => {
  const res = await s.app.inject({ url: '/metrics', headers: { authorization: 'Bearer metrics-token' } });
  assert.equal(res.statusCode, 200);
  return res.body;
};
/** The count of answers with these labels (all present in the series' label set). */
const answers = (text: string, labels: Record<string, string>) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('receipt_shop_answers_total{') && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

describe('answers by the decision step that decided', () => {
  before(async () => {
    const alice = await s.bearer('alice');
    const etag = String((await s.app.inject({ url: '/products/42' })).headers.etag);
    await s.app.inject({ url: '/products/42', headers: { 'if-none-match': etag } });
    await s.app.inject({ url: '/products/999999' });
    await s.app.inject({ url: '/orders' });
    await s.app.inject({ url: '/orders', headers: { authorization: 'Bearer not.a.token' } });
    await s.app.inject({ url: '/admin/orders', headers: alice });
    await s.app.inject({ method: 'POST', url: '/orders', headers: alice, payload: { product_id: 'forty-two', quantity: 1, payment_token: 't' } });
    await s.app.inject({ method: 'POST', url: '/orders', headers: alice, payload: { product_id: 42, quantity: -1, payment_token: '' } });
    await s.app.inject({ method: 'POST', url: '/orders', headers: { ...alice, 'content-type': 'text/plain' }, payload: 'hello' });
    await s.app.inject({ url: '/no-such-page' });
  });

  it('200 and 304 from the success path and the preconditions step', async () => {
    const text = await metrics();
    assert.ok(answers(text, { route: '/products/:id', status: '200', step: 'success' }) >= 1);
    assert.equal(answers(text, { route: '/products/:id', status: '304', step: 'preconditions' }), 1);
  });

  it('401 from authenticate, 403 from authorize, 404 from locate, 400 and 415 from parse, 422 from validate, 404 from routing', async () => {
    const text = await metrics();
    assert.equal(answers(text, { route: '/orders', method: 'GET', status: '401', step: 'authenticate' }), 2);
    assert.equal(answers(text, { route: '/admin/orders', status: '403', step: 'authorize' }), 1);
    assert.equal(answers(text, { route: '/products/:id', status: '404', step: 'locate' }), 1);
    assert.equal(answers(text, { route: '/orders', method: 'POST', status: '400', step: 'parse' }), 1);
    assert.equal(answers(text, { route: '/orders', method: 'POST', status: '415', step: 'parse' }), 1);
    assert.equal(answers(text, { route: '/orders', method: 'POST', status: '422', step: 'validate' }), 1);
    assert.equal(answers(text, { route: 'unmatched', status: '404', step: 'routing' }), 1);
  });

  it('durations per route, and the database pool’s waits', async () => {
    const text = await metrics();
    assert.match(text, /^receipt_shop_request_duration_seconds_count\{route="\/products\/:id",method="GET"\} [1-9]/m);
    // The test's Db has no observer; the series exists and is empty, as in a target before its first query.
    assert.match(text, /^receipt_shop_db_pool_timeouts_total 0$/m);
  });

  it('/metrics needs the token: 401 with a Bearer challenge otherwise', async () => {
    const res = await s.app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="receipt-metrics"/);
    assert.equal((await s.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  });
});
