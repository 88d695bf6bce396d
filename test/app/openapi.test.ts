import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ROUTES } from '../../src/shop/app.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

let s: ShopUnderTest;
before(async () => (s = await shopUnderTest()));
after(() => s.close());

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }> }>>;
}

describe('/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = (await s.app.inject({ url: '/openapi.json' })).json();
    const result = await new Validator().validate(doc);
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    assert.equal(doc.openapi, '3.1.0');
  });

  it('lists every route with the statuses its decision steps can answer, and their headers', async () => {
    const doc = (await s.app.inject({ url: '/openapi.json' })).json() as Doc;
    for (const r of ROUTES) {
      const op = doc.paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.url} documented`);
      for (const status of Object.keys(r.success)) assert.ok(op.responses[status], `${r.method} ${r.url} ${status}`);
      assert.ok(op.responses['500'], `${r.method} ${r.url} 500`);
      if (r.access !== 'public') assert.ok(op.responses['401']?.headers?.['WWW-Authenticate'], `${r.method} ${r.url} 401 + WWW-Authenticate`);
      if (r.access === 'admin') assert.ok(op.responses['403'], `${r.method} ${r.url} 403`);
    }
    const post = doc.paths['/orders']!.post!.responses;
    assert.deepEqual(Object.keys(post).sort(), ['201', '202', '400', '401', '402', '409', '413', '415', '422', '429', '500', '503']);
    assert.ok(post['201']!.headers!.Location);
    assert.ok(post['202']!.headers!['Preference-Applied'] && post['202']!.headers!['Retry-After']);
    assert.ok(post['503']!.headers!['Retry-After']);
    assert.ok(post['429']!.headers!['X-RateLimit-Reset'] && post['429']!.headers!.RateLimit);
    assert.ok(post['422']!.content!['application/problem+json']);
    assert.ok(doc.paths['/products/{id}']!.get!.responses['304']);
    assert.ok(doc.paths['/products/{id}']!.put!.responses['412']);
    assert.ok(doc.paths['/products/{id}']!.get!.responses['410']);
  });

  it('/docs serves a page', async () => {
    const res = await s.app.inject({ url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
  });
});
