/**
 * Orders (seed §4): the seed's checkout. POST /orders walks the whole decision tree: 400 for types,
 * 401/403 for identity, a replay of an earlier identical request (locate), 422 listing every rule broken, 409
 * while the same key is in flight, 503 when the database or the payment provider is away, 201 + Location.
 */
import crypto from 'node:crypto';
import { Type } from 'typebox';
import { type FieldError, parsePrefer, problemOf } from '../../http/index.ts';
import { declinedProblem, payOrder } from '../pay-order.ts';
import { badRequest } from '../decision/parse.ts';
import { gone, notFound } from '../decision/locate.ts';
import { unprocessable } from '../decision/validate.ts';
import { defineRoute, type AuthedCtx, type Outcome, type Principal } from '../decision/types.ts';
import * as store from '../store/orders.ts';
import { findProduct } from '../store/products.ts';
import { IdParams, Order, OrderInput } from './schemas.ts';

const MAX_QUANTITY = 100; // the seed's "Must be between 1 and 100"

/**
 * The idempotency key of a create: the Idempotency-Key header (an RFC 8941 sf-string per the draft, or Stripe's
 * bare token — both accepted), else the client's reference. Neither: the request is not idempotent.
 */
export function keyOf(ctx: { req: { headers: Record<string, string | string[] | undefined> }; body: { reference?: string } }): string | undefined {
  const raw = ctx.req.headers['idempotency-key'];
  if (raw !== undefined) {
    const v = Array.isArray(raw) ? raw.join(',') : raw;
    const key = /^"(.*)"$/.test(v) ? v.slice(1, -1) : v;
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw badRequest('headers', [{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }]);
    }
    return `key:${key}`;
  }
  return ctx.body.reference !== undefined ? `ref:${ctx.body.reference}` : undefined;
}

export function fromKeyState(state: store.KeyState): Outcome | undefined {
  switch (state.kind) {
    case 'done':
      return state.outcome;
    case 'in-flight':
      throw problemOf('request-in-flight', {
        detail: 'A request with this idempotency key is still being processed. Retry in a moment; it will get the same result.',
        headers: { 'retry-after': '1' },
      });
    case 'mismatch':
      throw unprocessable(
        [{ field: 'Idempotency-Key', message: 'was already used with a different request body' }],
        'This idempotency key (or reference) was already used for a different order. Use a new key for a new order.',
      );
    case 'claimed':
      return undefined;
  }
}

/** Who may see an order: its owner and admins. Anyone else is told it does not exist (seed §4). */
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
    async replay(ctx) {
      const key = keyOf(ctx);
      if (key === undefined) return undefined;
      const state = await store.peekKey(ctx.deps.db, ctx.user.id, key, store.fingerprint(ctx.body));
      return state && fromKeyState(state);
    },
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
    async handle(ctx) {
      const { body, deps, user } = ctx;
      const key = keyOf(ctx);
      const fp = store.fingerprint(body);
      if (key !== undefined) {
        // The lease outlives the slowest payment we wait for, so a live request is never taken over.
        const decided = fromKeyState(await store.claimKey(deps.db, user.id, key, fp, deps.config.paymentTimeoutMs + 5_000));
        if (decided) return decided;
      }
      try {
        const outcome = await placeOrder(ctx, fp, parsePrefer(ctx.req.headers.prefer).has('respond-async'));
        if (key !== undefined) await store.completeKey(deps.db, user.id, key, outcome);
        return outcome;
      } catch (e) {
        if (key !== undefined) await store.releaseKey(deps.db, user.id, key).catch(() => {});
        throw e;
      }
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
  let reserved: store.Reserve;
  try {
    reserved = await store.reserveOrder(deps.db, {
      userId: user.id,
      productId: body.product_id,
      quantity: body.quantity,
      reference,
      fingerprint: fp,
      ...(respondAsync ? { async: { paymentToken: body.payment_token } } : {}),
    });
  } catch (e) {
    if (!(e instanceof store.ConcurrentReference)) throw e;
    throw problemOf('request-in-flight', { detail: 'Another request with this reference is being processed. Retry in a moment.', headers: { 'retry-after': '1' } });
  }
  switch (reserved.kind) {
    case 'reference-reused':
      throw unprocessable([{ field: 'reference', message: 'Already used for a different order' }]);
    case 'product-gone':
      throw unprocessable([{ field: 'product_id', message: 'Not found' }]);
    case 'out-of-stock':
      throw problemOf('out-of-stock', { detail: 'The product sold out while your order was being placed.', extensions: { field: 'quantity' } });
  }
  // An order the worker pays: accepted now, whatever the payment will take (the seed's async answer to the 504).
  if (reserved.order.async && reserved.order.status === 'pending') return acceptedOutcome(reserved.order);
  const paid = await payOrder(deps, reserved.order, body.payment_token);
  if (paid.kind === 'declined') throw declinedProblem(paid.order);
  return { status: 201, body: store.orderJson(paid.order), headers: { location: `/orders/${paid.order.id}` } };
}
