/** Schemas shared by the routes. Types only: ranges and existence are business rules (step 5, 422), not schema. */
import { Type } from 'typebox';

/** Path ids are digits; anything else is a malformed request (400 naming `id`), not a lookup.
 * Request bodies carry an example: what Swagger UI's "Try it out" fills in, and what `receipt audit` sends. */
export const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,15}$' }) }, { additionalProperties: false });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    field: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    required_role: Type.Optional(Type.String()),
    order_id: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
    request_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'RFC 9457 Problem Details' },
);

export const Product = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  price_cents: Type.Integer({ minimum: 0 }),
  stock: Type.Integer({ minimum: 0 }),
});

export const ProductInput = Type.Object(
  { name: Type.String(), price_cents: Type.Integer(), stock: Type.Integer() },
  { additionalProperties: false, examples: [{ name: 'Headphones', price_cents: 4999, stock: 10 }] },
);

export const Order = Type.Object({
  id: Type.Integer(),
  status: Type.String({ description: 'pending (payment not confirmed) · processing (paid) · failed (payment declined) · cancelled' }),
  reference: Type.String(),
  product_id: Type.Integer(),
  quantity: Type.Integer(),
  amount_cents: Type.Integer(),
  charge_id: Type.Union([Type.String(), Type.Null()]),
  failure: Type.Optional(Type.String({ description: 'Why a failed order failed' })),
  lines: Type.Array(Type.Object({ product_id: Type.Integer(), quantity: Type.Integer(), amount_cents: Type.Integer() }), {
    description: 'Every product of the order; product_id and quantity above describe the first',
  }),
  estimated_delivery: Type.String({ description: 'ISO date' }),
  created_at: Type.String(),
});

export const OrderInput = Type.Object(
  {
    product_id: Type.Integer(),
    quantity: Type.Integer(),
    payment_token: Type.String(),
    reference: Type.Optional(Type.String()),
  },
  { additionalProperties: false, examples: [{ product_id: 42, quantity: 1, payment_token: 'tok_visa' }] },
);

export const User = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  role: Type.String(),
});
