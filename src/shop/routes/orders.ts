/**
 * Orders: the checkout of docs/status-codes.md ("The checkout, case by case"; played in docs/scenarios.md). POST
 * /orders walks the whole decision tree: 400 for types, 401 for identity (every signed-in user may order, so no 403),
 * a replay of an earlier identical request (locate), 422 listing every rule broken, 409 while the same key is in
 * flight, 429 once the user's limit is spent, 503 when the database or the payment provider is away, 402 when the
 * card is declined, 201 + Location — or 202 when the client prefers not to wait (Prefer: respond-async).
 */
import crypto from 'node:crypto';
import { Type } from 'typebox';
import { type FieldError, parsePrefer, problemOf } from '../../http/index.ts';
import * as idempotency from '../idempotency.ts';
import { declinedProblem, payOrder } from '../pay-order.ts';
import { gone, notFound } from '../decision/locate.ts';
import { unprocessable } from '../decision/validate.ts';
import { defineRoute, type AuthedCtx, type Outcome, type Principal } from '../decision/types.ts';
import * as store from '../store/orders.ts';
import { findProduct } from '../store/products.ts';
import { IdParams, Order, OrderInput } from './schemas.ts';

const MAX_QUANTITY = 100; // "Must be between 1 and 100": a shop's own rule, checked in validate (422)

/** POST /orders's own idempotency keys, and what makes two of its requests the same. */
const SCOPE = '';
const fingerprintOf = (b: { product_id: number; quantity: number; payment_token: string; reference?: string | undefined }) =>
  idempotency.fingerprint([b.product_id, b.quantity, b.payment_token, b.reference ?? null]);

/** Who may see an order: its owner and admins. Anyone else is told it does not exist (docs/scenarios.md, "NOT FOUND"). */
async function locateOrder(ctx: { params: { id: string }; user: Principal; deps: AuthedCtx<unknown, unknown, unknown, unknown>['deps'] }) {
  const id = Number(ctx.params.id);
  const o = await store.findOrder(ctx.deps.db, id);
  if (!o || (o.user_id !== ctx.user.id && ctx.user.role !== 'admin')) throw notFound('Order', { order_id: id });
  if (o.status === 'cancelled') throw gone('Order', { order_id: id });
  return o;
}

export const orderRoutes = [
  defineRoute({
    method: 'POST',
    usesPayments: true,
    url: '/orders',
    summary: 'Place an order (idempotent with Idempotency-Key or reference)',
    tags: ['orders'],
    access: 'user',
    schema: { body: OrderInput },
    success: {
      201: { description: 'Created (or the first answer, replayed, with Idempotent-Replayed: true)', schema: Order, headers: ['Location', 'Idempotent-Replayed'] },
      202: {
        description: 'Accepted, with `Prefer: respond-async` (RFC 7240): the order is pending and a worker charges it; poll Location as Retry-After says',
        schema: Order,
        headers: ['Location', 'Retry-After', 'Preference-Applied', 'Vary'],
      },
    },
    extraProblems: {
      402: 'The payment provider declined the payment: the order failed, nothing was charged',
      409: 'A request with the same Idempotency-Key is still in flight, or the stock ran out meanwhile',
      422: 'Business rules (every violation listed), or an Idempotency-Key reused with another body',
    },
    replay: (ctx) => idempotency.replay(ctx, SCOPE, fingerprintOf(ctx.body)),
    async validate({ body, deps }) {
      const errors: FieldError[] = [];
      if (body.quantity < 1 || body.quantity > MAX_QUANTITY) errors.push({ field: 'quantity', message: `Must be between 1 and ${MAX_QUANTITY}` });
      if (body.payment_token.trim() === '') errors.push({ field: 'payment_token', message: 'Required' });
      if (body.reference !== undefined && !/^[\x21-\x7e]{1,128}$/.test(body.reference)) {
        errors.push({ field: 'reference', message: 'Must be 1 to 128 visible ASCII characters' });
      }
      const product = await findProduct(deps.db, body.product_id);
      if (!product || product.deleted) errors.push({ field: 'product_id', message: 'Not found' });
      else if (errors.length === 0 && product.stock < body.quantity) errors.push({ field: 'quantity', message: `Only ${product.stock} in stock` });
      return errors;
    },
    handle(ctx) {
      const fp = fingerprintOf(ctx.body);
      return idempotency.once(ctx, SCOPE, fp, () => placeOrder(ctx, fp, parsePrefer(ctx.req.headers.prefer).has('respond-async')));
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/orders',
    summary: "The caller's orders; ?reference= finds one by the client's reference (the 504 check)",
    tags: ['orders'],
    access: 'user',
    schema: { querystring: Type.Object({ reference: Type.Optional(Type.String()) }, { additionalProperties: false }) },
    success: { 200: { description: 'Matching orders (possibly [])', schema: Type.Array(Order) } },
    async handle({ query, deps, user }) {
      const rows = await store.listOrders(deps.db, { userId: user.id, ...(query.reference !== undefined ? { reference: query.reference } : {}) });
      return { status: 200, body: rows.map(store.orderJson), headers: { 'cache-control': 'private, no-store' } };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/orders/:id',
    summary: 'Read an order (yours; admins any). Someone else’s answers 404, never 403',
    tags: ['orders'],
    access: 'user',
    schema: { params: IdParams },
    locate: locateOrder,
    success: { 200: { description: 'The order (an accepted async order: `pending` until its worker pays it, with Retry-After)', schema: Order, headers: ['Retry-After'] } },
    async handle({ resource }) {
      // Still being worked on: tell a polling client when to look again, as the 202 did.
      const polling: Record<string, string> = resource.async && resource.status === 'pending' ? { 'retry-after': String(store.ASYNC_POLL_S) } : {};
      return { status: 200, body: store.orderJson(resource), headers: { 'cache-control': 'private, no-store', ...polling } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/orders/:id',
    summary: 'Cancel an order; afterwards it answers 410 Gone',
    tags: ['orders'],
    access: 'user',
    schema: { params: IdParams },
    locate: locateOrder,
    success: { 204: { description: 'Cancelled' } },
    async handle({ resource, deps }) {
      if (!(await store.cancelOrder(deps.db, resource.id))) throw gone('Order', { order_id: resource.id });
      return { status: 204 };
    },
  }),
];

/**
 * The accepted order (RFC 9110 §15.3.3): its Location to poll, when to look (Retry-After), and that the preference
 * was honoured (RFC 7240 §3). The answer depends on Prefer, so it says so in Vary (RFC 7240 §2).
 */
function acceptedOutcome(order: store.OrderRow): Outcome {
  return {
    status: 202,
    body: store.orderJson(order),
    headers: { location: `/orders/${order.id}`, 'retry-after': String(store.ASYNC_POLL_S), 'preference-applied': 'respond-async', vary: 'Prefer' },
  };
}

async function placeOrder(
  ctx: AuthedCtx<{ product_id: number; quantity: number; payment_token: string; reference?: string }, unknown, unknown, unknown>,
  fp: string,
  respondAsync: boolean,
): Promise<Outcome> {
  const { body, deps, user } = ctx;
  const reference = body.reference ?? crypto.randomUUID();
  const reserved = await store.reserve(deps.db, {
    userId: user.id,
    lines: [{ productId: body.product_id, quantity: body.quantity }],
    reference,
    fingerprint: fp,
    ...(respondAsync ? { async: { paymentToken: body.payment_token } } : {}),
  });
  switch (reserved.kind) {
    case 'reference-reused':
      throw unprocessable([{ field: 'reference', message: 'Already used for a different order' }]);
    case 'product-gone':
    case 'empty': // one line was asked for: there is no empty order
      throw unprocessable([{ field: 'product_id', message: 'Not found' }]);
    case 'out-of-stock':
      throw problemOf('out-of-stock', { detail: 'The product sold out while your order was being placed.', extensions: { field: 'quantity' } });
    case 'concurrent':
      throw idempotency.requestInFlight('Another request with this reference is being processed. Retry in a moment.');
  }
  // An order the worker pays: accepted now, whatever the payment will take (the remedy docs/status-codes.md gives for the 504 uncertainty).
  if (reserved.order.async && reserved.order.status === 'pending') return acceptedOutcome(reserved.order);
  const paid = await payOrder(deps, reserved.order, body.payment_token);
  if (paid.kind === 'declined') throw declinedProblem(paid.order);
  return { status: 201, body: store.orderJson(paid.order), headers: { location: `/orders/${paid.order.id}` } };
}
