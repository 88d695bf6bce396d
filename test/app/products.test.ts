import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

let s: ShopUnderTest;
let admin: Record<string, string>;
before(async () => {
  s = await shopUnderTest();
  admin = await s.bearer('admin');
});
after(() => s.close());

describe('reading products', () => {
  it('GET /products/42: 200 with a strong ETag and Cache-Control', async () => {
    const res = await s.app.inject({ url: '/products/42' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { id: 42, name: 'Headphones', price_cents: 7999, stock: 1000 });
    assert.match(String(res.headers.etag), /^"[^"]+"$/, 'strong: no W/ prefix');
    assert.ok(res.headers['cache-control']);
  });

  it('If-None-Match with the current ETag: 304, no body, the same ETag and Cache-Control as the 200 (RFC 9110 §15.4.5)', async () => {
    const full = await s.app.inject({ url: '/products/42' });
    const etag = String(full.headers.etag);
    const res = await s.app.inject({ url: '/products/42', headers: { 'if-none-match': etag } });
    assert.equal(res.statusCode, 304);
    assert.equal(res.body, '');
    assert.equal(res.headers.etag, etag);
    assert.equal(res.headers['cache-control'], full.headers['cache-control']);
    const head = await s.app.inject({ method: 'HEAD', url: '/products/42', headers: { 'if-none-match': `W/${etag}, "x"` } });
    assert.equal(head.statusCode, 304, 'If-None-Match uses the weak comparison');
  });

  it('an id that never existed: 404; a malformed id: 400 naming it', async () => {
    const body = problem(await s.app.inject({ url: '/products/99999' }), 404);
    assert.equal(body.product_id, 99999);
    assert.equal(problem(await s.app.inject({ url: '/products/abc' }), 400).field, 'id');
  });

  it('HEAD answers the GET headers without a body', async () => {
    const res = await s.app.inject({ method: 'HEAD', url: '/products/42' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.ok(res.headers.etag);
  });
});

describe('writing products (admin)', () => {
  it('a customer gets 403 with required_role; nobody signed in gets 401 first', async () => {
    const payload = { name: 'Speaker', price_cents: 100, stock: 1 };
    const body = problem(await s.app.inject({ method: 'POST', url: '/products', payload, headers: await s.bearer('alice') }), 403);
    assert.equal(body.required_role, 'admin');
    problem(await s.app.inject({ method: 'POST', url: '/products', payload }), 401);
  });

  it('create 201 + Location, update with If-Match, stale If-Match 412, delete 204 then 410', async () => {
    const created = await s.app.inject({ method: 'POST', url: '/products', payload: { name: 'Speaker', price_cents: 4999, stock: 5 }, headers: admin });
    assert.equal(created.statusCode, 201);
    const location = String(created.headers.location);
    assert.match(location, /^\/products\/\d+$/);
    const etag1 = String(created.headers.etag);
    assert.equal((await s.app.inject({ url: location })).json().name, 'Speaker');

    const put = (etag: string, name: string) =>
      s.app.inject({ method: 'PUT', url: location, payload: { name, price_cents: 4999, stock: 5 }, headers: { ...admin, 'if-match': etag } });
    const updated = await put(etag1, 'Speaker 2');
    assert.equal(updated.statusCode, 200);
    assert.notEqual(updated.headers.etag, etag1, 'a change makes a new ETag');
    const stale = problem(await put(etag1, 'Speaker 3'), 412);
    assert.match(String(stale.detail), /changed/);
    assert.equal((await s.app.inject({ url: location })).json().name, 'Speaker 2', 'the stale write changed nothing');

    const del = await s.app.inject({ method: 'DELETE', url: location, headers: admin });
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
    assert.equal(del.headers['content-length'], undefined, 'RFC 9110 §8.6: no Content-Length in a 204');
    problem(await s.app.inject({ url: location }), 410);
    problem(await s.app.inject({ method: 'DELETE', url: location, headers: admin }), 410);
    problem(await s.app.inject({ method: 'DELETE', url: '/products/99999', headers: admin }), 404);
  });

  it('422 lists every broken rule at once', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/products', payload: { name: ' ', price_cents: -1, stock: -5 }, headers: admin });
    const body = problem(res, 422);
    assert.deepEqual((body.errors as Array<{ field: string }>).map((e) => e.field).sort(), ['name', 'price_cents', 'stock']);
  });
});

describe('405 and Allow (RFC 9110 §15.5.6)', () => {
  it('DELETE /products: 405 with Allow listing what the path supports', async () => {
    const res = await s.app.inject({ method: 'DELETE', url: '/products' });
    problem(res, 405);
    assert.deepEqual(String(res.headers.allow).split(', '), ['GET', 'HEAD', 'POST', 'OPTIONS']);
  });

  it('every route: a method it lacks gets 405 and an Allow that names only methods that work', async () => {
    for (const [path, expected] of [
      ['/products/42', 'GET, HEAD, PUT, DELETE, OPTIONS'],
      ['/orders', 'GET, HEAD, POST, OPTIONS'],
      ['/orders/1', 'GET, HEAD, DELETE, OPTIONS'],
      ['/auth/token', 'POST, OPTIONS'],
      ['/users/1/settings', 'PUT, OPTIONS'],
      ['/admin/reports', 'GET, HEAD, OPTIONS'],
    ]) {
      const res = await s.app.inject({ method: 'PATCH', url: path! });
      assert.equal(res.statusCode, 405, path);
      assert.equal(res.headers.allow, expected, path);
    }
  });

  it('OPTIONS answers 204 with Allow; an unknown path is 404', async () => {
    const res = await s.app.inject({ method: 'OPTIONS', url: '/products' });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers.allow, 'GET, HEAD, POST, OPTIONS');
    problem(await s.app.inject({ url: '/nope' }), 404);
  });
});
