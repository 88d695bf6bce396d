/**
 * POST /checkout (docs/scenarios.md, "RATE LIMIT"): the cart becomes one order, charged exactly once, 201 +
 * Location. Spends the checkout limit (CHECKOUT_RATE_LIMIT a minute): the 11th attempt in a minute is 429.
 * Idempotent like POST /orders, with Idempotency-Key or the body's reference.
 */
import crypto from 'node:crypto';
import { Type } from 'typebox';
import { type FieldError, problemOf } from '../../http/index.ts';
import { unprocessable } from '../decision/validate.ts';
import { defineRoute } from '../decision/types.ts';
import * as idempotency from '../idempotency.ts';
import * as store from '../store/orders.ts';
import { declinedProblem, payOrder } from '../pay-order.ts';
import { Order } from './schemas.ts';

/** POST /checkout's idempotency keys are its own: the same key on POST /orders is another request. */
const SCOPE = 'checkout:';
const fingerprintOf = (body: { payment_token: string; reference?: string }) => idempotency.fingerprint(['checkout', body.payment_token, body.reference ?? null]);

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
    replay: (ctx) => idempotency.replay(ctx, SCOPE, fingerprintOf(ctx.body)),
    async validate({ body, deps, user }) {
      const errors: FieldError[] = [];
      if (body.payment_token.trim() === '') errors.push({ field: 'payment_token', message: 'Required' });
      const { rowCount } = await deps.db.query(`SELECT 1 FROM cart_items WHERE user_id = $1 LIMIT 1`, [user.id]);
      if (!rowCount) errors.push({ field: 'cart', message: 'The cart is empty' });
      return errors;
    },
    handle(ctx) {
      const { body, deps, user } = ctx;
      const fp = fingerprintOf(body);
      return idempotency.once(ctx, SCOPE, fp, async () => {
        const r = await store.reserve(deps.db, { userId: user.id, reference: body.reference ?? crypto.randomUUID(), fingerprint: fp, lines: 'cart' });
        if (r.kind === 'empty') throw unprocessable([{ field: 'cart', message: 'The cart is empty' }]);
        if (r.kind === 'reference-reused') throw unprocessable([{ field: 'reference', message: 'Already used for a different order' }]);
        if (r.kind === 'concurrent') throw idempotency.requestInFlight('Another request with this reference is being processed. Retry in a moment.');
        // A product removed since it went into the cart cannot be bought either: the same answer as sold out.
        if (r.kind === 'out-of-stock' || r.kind === 'product-gone') {
          throw problemOf('out-of-stock', { detail: `Product ${r.productId} sold out while you were checking out.`, extensions: { product_id: r.productId } });
        }
        const paid = await payOrder(deps, r.order, body.payment_token);
        if (paid.kind === 'declined') throw declinedProblem(paid.order);
        return { status: 201 as const, body: store.orderJson(paid.order), headers: { location: `/orders/${paid.order.id}` } };
      });
    },
  }),
];
