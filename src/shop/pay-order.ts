/**
 * Paying for an order, in one place: the synchronous routes (POST /orders, POST /checkout) and the async order
 * worker all charge through here. The charge's idempotency key is the order's id, so however often this runs for one
 * order — a retried request, a second worker after the first died — the provider charges it once.
 */
import type { HttpProblem} from '../http/index.ts';
import { problemOf } from '../http/index.ts';
import type { Db } from '../db/pool.ts';
import { PaymentDeclined, type PaymentProvider } from './payments.ts';
import * as store from './store/orders.ts';

export type Paid = { kind: 'paid'; order: store.OrderRow } | { kind: 'declined'; order: store.OrderRow };

/**
 * Charges a pending order and records the result: paid (`processing`), or declined (`failed`, its units back on sale).
 * The provider being away throws DependencyUnavailable and changes nothing: the order stays pending, safe to retry.
 */
export async function payOrder(deps: { db: Db; payments: PaymentProvider }, order: store.OrderRow, paymentToken: string): Promise<Paid> {
  if (order.status === 'failed') return { kind: 'declined', order };
  if (order.status !== 'pending') return { kind: 'paid', order };
  try {
    const charge = await deps.payments.charge({ idempotencyKey: `order-${order.id}`, amount_cents: order.amount_cents, payment_token: paymentToken, reference: order.reference });
    return { kind: 'paid', order: await store.markPaid(deps.db, order.id, charge.id) };
  } catch (e) {
    if (!(e instanceof PaymentDeclined)) throw e;
    return { kind: 'declined', order: await store.failOrder(deps.db, order.id, `payment declined: ${e.reason}`) };
  }
}

/**
 * 402 Payment Required: the provider's definite no. Not the client's syntax (400) nor a rule it could have checked
 * (422): the request was fine and the card was refused — the status Stripe answers for a declined card.
 */
export function declinedProblem(order: store.OrderRow): HttpProblem {
  return problemOf('payment-declined', {
    detail: 'The payment provider declined the payment. Nothing was charged; the order failed and its items are back on sale.',
    extensions: { order_id: order.id, failure: order.failure ?? 'payment declined' },
  });
}
