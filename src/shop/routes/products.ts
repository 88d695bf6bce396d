/** Products: strong ETags, 304, 412, 201 + Location, 204 then 410, 404 for ids that never existed. */
import { Type } from 'typebox';
import type { Db } from '../../db/pool.ts';
import { type FieldError, problemOf, strongEtag } from '../../http/index.ts';
import { gone, notFound } from '../decision/locate.ts';
import { defineRoute } from '../decision/types.ts';
import * as store from '../store/products.ts';
import { IdParams, Product, ProductInput } from './schemas.ts';

const etagOf = (p: store.ProductRow) => strongEtag(`p${p.id}`, `v${p.version}`);
// Public and cacheable, but revalidated every time: a shopper sees a price change at once, at the cost of a 304.
const CACHE = 'public, no-cache';

async function locateProduct({ params, deps }: { params: { id: string }; deps: { db: Db } }) {
  const p = await store.findProduct(deps.db, Number(params.id));
  if (!p) throw notFound('Product', { product_id: Number(params.id) });
  if (p.deleted) throw gone('Product', { product_id: p.id });
  return p;
}

function productRules(b: { name: string; price_cents: number; stock: number }): FieldError[] {
  const errors: FieldError[] = [];
  if (b.name.trim() === '') errors.push({ field: 'name', message: 'Required' });
  if (b.name.length > 200) errors.push({ field: 'name', message: 'Must be at most 200 characters' });
  if (b.price_cents < 0 || b.price_cents > 100_000_000) errors.push({ field: 'price_cents', message: 'Must be between 0 and 100000000' });
  if (b.stock < 0 || b.stock > 1_000_000) errors.push({ field: 'stock', message: 'Must be between 0 and 1000000' });
  return errors;
}

const withEtag = (p: store.ProductRow) => ({ etag: etagOf(p), 'cache-control': CACHE });

export const productRoutes = [
  defineRoute({
    method: 'GET',
    url: '/products',
    summary: 'List the catalogue',
    tags: ['products'],
    access: 'public',
    success: { 200: { description: 'Every product on sale', schema: Type.Array(Product) } },
    async handle({ deps }) {
      return { status: 200, body: (await store.listProducts(deps.db)).map(store.productJson) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/products/:id',
    summary: 'Read one product (conditional GET with If-None-Match)',
    tags: ['products'],
    access: 'public',
    schema: { params: IdParams },
    locate: locateProduct,
    etag: etagOf,
    cacheControl: CACHE,
    success: {
      200: { description: 'The product, with its strong ETag', schema: Product, headers: ['ETag', 'Cache-Control'] },
      304: { description: 'Your copy is current (If-None-Match matched)', headers: ['ETag', 'Cache-Control'] },
    },
    async handle({ resource }) {
      return { status: 200, body: store.productJson(resource), headers: withEtag(resource) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/products',
    summary: 'Add a product (admin)',
    tags: ['products'],
    access: 'admin',
    schema: { body: ProductInput },
    validate: ({ body }) => productRules(body),
    success: { 201: { description: 'Created', schema: Product, headers: ['Location', 'ETag'] } },
    async handle({ body, deps }) {
      const p = await store.insertProduct(deps.db, body);
      return { status: 201, body: store.productJson(p), headers: { location: `/products/${p.id}`, etag: etagOf(p) } };
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/products/:id',
    summary: 'Replace a product (admin); send If-Match to avoid lost updates',
    tags: ['products'],
    access: 'admin',
    schema: { params: IdParams, body: ProductInput },
    locate: locateProduct,
    etag: etagOf,
    validate: ({ body }) => productRules(body),
    success: { 200: { description: 'Updated', schema: Product, headers: ['ETag'] } },
    async handle({ body, deps, resource }) {
      const p = await store.updateProduct(deps.db, resource.id, resource.version, body);
      // Someone else wrote between our read and our write: the representation the client saw is gone.
      if (!p) throw problemOf('precondition-failed', { detail: 'The product changed while you were updating it. GET it and retry.' });
      return { status: 200, body: store.productJson(p), headers: { etag: etagOf(p) } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/products/:id',
    summary: 'Remove a product for good (admin); afterwards it answers 410 Gone',
    tags: ['products'],
    access: 'admin',
    schema: { params: IdParams },
    locate: locateProduct,
    etag: etagOf,
    success: { 204: { description: 'Removed' } },
    async handle({ deps, resource }) {
      if (!(await store.deleteProduct(deps.db, resource.id))) throw gone('Product', { product_id: resource.id });
      return { status: 204 };
    },
  }),
];
