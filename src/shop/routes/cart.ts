/** The cart (docs/scenarios.md, "CONFLICT"): 201 + Location, 409 with existing_item_id, 200, 204. */
import { Type } from 'typebox';
import { type FieldError, problemOf } from '../../http/index.ts';
import type { Db } from '../../db/pool.ts';
import { notFound } from '../decision/locate.ts';
import { defineRoute, type Principal } from '../decision/types.ts';
import { findProduct } from '../store/products.ts';
import { IdParams } from './schemas.ts';

const CartItem = Type.Object({ id: Type.Integer(), product_id: Type.Integer(), quantity: Type.Integer() });
interface CartRow {
  id: number;
  product_id: number;
  quantity: number;
  user_id: number;
}
const COLS = `id::int AS id, product_id::int AS product_id, quantity, user_id::int AS user_id`;
const itemJson = (r: CartRow) => ({ id: r.id, product_id: r.product_id, quantity: r.quantity });

async function locateItem(ctx: { params: { id: string }; user: Principal; deps: { db: Db } }): Promise<CartRow> {
  const id = Number(ctx.params.id);
  const row = (await ctx.deps.db.query<CartRow>(`SELECT ${COLS} FROM cart_items WHERE id = $1`, [id])).rows[0];
  // Someone else's cart line does not exist for you.
  if (!row || row.user_id !== ctx.user.id) throw notFound('Cart item', { item_id: id });
  return row;
}

const quantityRule = (q: number): FieldError[] => (q < 1 || q > 100 ? [{ field: 'quantity', message: 'Must be between 1 and 100' }] : []);

export const cartRoutes = [
  defineRoute({
    method: 'GET',
    url: '/cart',
    summary: 'The caller’s cart',
    tags: ['cart'],
    access: 'user',
    success: { 200: { description: 'Cart lines', schema: Type.Object({ items: Type.Array(CartItem) }) } },
    async handle({ deps, user }) {
      const rows = (await deps.db.query<CartRow>(`SELECT ${COLS} FROM cart_items WHERE user_id = $1 ORDER BY id`, [user.id])).rows;
      return { status: 200, body: { items: rows.map(itemJson) }, headers: { 'cache-control': 'private, no-store' } };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/cart/items',
    summary: 'Put a product in the cart; the same product twice is 409 (offer "increase quantity" instead)',
    tags: ['cart'],
    access: 'user',
    schema: { body: Type.Object({ product_id: Type.Integer(), quantity: Type.Optional(Type.Integer()) }, { additionalProperties: false, examples: [{ product_id: 42, quantity: 1 }] }) },
    async validate({ body, deps }) {
      const errors = quantityRule(body.quantity ?? 1);
      const p = await findProduct(deps.db, body.product_id);
      if (!p || p.deleted) errors.push({ field: 'product_id', message: 'Not found' });
      return errors;
    },
    success: { 201: { description: 'Added', schema: CartItem, headers: ['Location'] } },
    extraProblems: { 409: 'The product is already in the cart (existing_item_id)' },
    async handle({ body, deps, user }) {
      const inserted = (
        await deps.db.query<CartRow>(
          `INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3) ON CONFLICT (user_id, product_id) DO NOTHING RETURNING ${COLS}`,
          [user.id, body.product_id, body.quantity ?? 1],
        )
      ).rows[0];
      if (inserted) return { status: 201, body: itemJson(inserted), headers: { location: `/cart/items/${inserted.id}` } };
      const existing = (await deps.db.query<{ id: number }>(`SELECT id::int AS id FROM cart_items WHERE user_id = $1 AND product_id = $2`, [user.id, body.product_id])).rows[0];
      throw problemOf('already-in-cart', {
        detail: 'Product already in cart. Change its quantity with PATCH instead.',
        headers: existing ? { location: `/cart/items/${existing.id}` } : {},
        extensions: { existing_item_id: existing?.id },
      });
    },
  }),
  defineRoute({
    method: 'PATCH',
    url: '/cart/items/:id',
    summary: 'Change a cart line’s quantity',
    tags: ['cart'],
    access: 'user',
    schema: { params: IdParams, body: Type.Object({ quantity: Type.Integer() }, { additionalProperties: false }) },
    locate: locateItem,
    validate: ({ body }) => quantityRule(body.quantity),
    success: { 200: { description: 'Updated', schema: CartItem } },
    async handle({ body, deps, resource }) {
      const row = (await deps.db.query<CartRow>(`UPDATE cart_items SET quantity = $2 WHERE id = $1 RETURNING ${COLS}`, [resource.id, body.quantity])).rows[0];
      if (!row) throw notFound('Cart item', { item_id: resource.id });
      return { status: 200, body: itemJson(row) };
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/cart/items/:id',
    summary: 'Remove a cart line',
    tags: ['cart'],
    access: 'user',
    schema: { params: IdParams },
    locate: locateItem,
    success: { 204: { description: 'Removed' } },
    async handle({ deps, resource }) {
      await deps.db.query(`DELETE FROM cart_items WHERE id = $1`, [resource.id]);
      return { status: 204 };
    },
  }),
];
