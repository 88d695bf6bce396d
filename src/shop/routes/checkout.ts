/**
 * POST /checkout (seed §4 "RATE LIMIT"): the cart becomes one order, charged exactly once, 201 +
 * Location. Spends the checkout limit (CHECKOUT_RATE_LIMIT a minute): the 11th attempt in a minute is 429.
 * Idempotent like POST /orders, with Idempotency-Key or the body's reference.
 */
import crypto from 'node:crypto';
import { Type } from 'typebox';
import { type FieldError, problemOf } from '../../http/index.ts';
import { unprocessable } from '../decision/validate.ts';
import { defineRoute } from '../decision/types.ts';
import * as store from '../store/orders.ts';
import { fromKeyState, keyOf } from './orders.ts';
import { declinedProblem, payOrder } from '../pay-order.ts';
import { Order } from './schemas.ts';

const fingerprintOf = (body: { payment_token: string; reference?: string }) =>
  crypto.createHash('sha256').update(JSON.stringify(['checkout', body.payment_token, body.reference ?? null])).digest('hex');

export const checkoutRoutes = [
  defineRoute({
    method: 'POST',
    usesPayments: true,
    url: '/checkout',
    summary: 'Turn the cart into an order (rate-limited: CHECKOUT_RATE_LIMIT a minute)',
    tags: ['cart'],
    access: 'user',
    rateLimit: 'checkout',
    schema: { body: Type.Object({ payment_token: Type.String(), reference: Type.Optional(Type.String()) }, { additionalProperties: false, examples: [{ payment_token: 'tok_visa' }] }) },
    success: { 201: { description: 'The order', schema: Order, headers: ['Location', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'] } },
    extraProblems: { 402: 'The payment provider declined the payment: the order failed, nothing was charged', 409: 'Same Idempotency-Key in flight, or a product sold out meanwhile' },
    async replay(ctx) {
      const key = keyOf(ctx);
      if (key === undefined) return undefined;
      const state = await store.peekKey(ctx.deps.db, ctx.user.id, `checkout:${key}`, fingerprintOf(ctx.body));
      return state && fromKeyState(state);
    },
    async validate({ body, deps, user }) {
      const errors: FieldError[] = [];
      if (body.payment_token.trim() === '') errors.push({ field: 'payment_token', message: 'Required' });
      const { rowCount } = await deps.db.query(`SELECT 1 FROM cart_items WHERE user_id = $1 LIMIT 1`, [user.id]);
      if (!rowCount) errors.push({ field: 'cart', message: 'The cart is empty' });
      return errors;
    },
    async handle(ctx) {
      const { body, deps, user } = ctx;
      const rawKey = keyOf(ctx);
      const key = rawKey === undefined ? undefined : `checkout:${rawKey}`;
      const fp = fingerprintOf(body);
      if (key !== undefined) {
        const decided = fromKeyState(await store.claimKey(deps.db, user.id, key, fp, deps.config.paymentTimeoutMs + 5_000));
        if (decided) return decided;
      }
      try {
        const r = await store.reserveCheckout(deps.db, { userId: user.id, reference: body.reference ?? crypto.randomUUID(), fingerprint: fp });
        if (r.kind === 'empty') throw unprocessable([{ field: 'cart', message: 'The cart is empty' }]);
        if (r.kind === 'reference-reused') throw unprocessable([{ field: 'reference', message: 'Already used for a different order' }]);
        if (r.kind === 'out-of-stock') {
          throw problemOf('out-of-stock', { detail: `Product ${r.productId} sold out while you were checking out.`, extensions: { product_id: r.productId } });
        }
        const paid = await payOrder(deps, r.order, body.payment_token);
        if (paid.kind === 'declined') throw declinedProblem(paid.order);
        const outcome = { status: 201 as const, body: store.orderJson(paid.order), headers: { location: `/orders/${paid.order.id}` } };
        if (key !== undefined) await store.completeKey(deps.db, user.id, key, outcome);
        return outcome;
      } catch (e) {
        if (key !== undefined) await store.releaseKey(deps.db, user.id, key).catch(() => {});
        throw e;
      }
    },
  }),
];
