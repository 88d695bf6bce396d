/**
 * Orders in PostgreSQL (their idempotency records: idempotency-keys.ts).
 *
 * Why a replay can never make a second order or a second charge, even across target processes:
 * - an idempotency key is claimed by one INSERT on the (user_id, key) primary key: one winner, the others see it;
 * - an order's reference is unique per user, so even two different keys with one reference make one order;
 * - the charge's key is derived from the order id, and the provider answers a repeated key with the first charge.
 */
import type { Db, Queryable } from '../../db/pool.ts';

export interface OrderRow {
  id: number;
  user_id: number;
  product_id: number;
  quantity: number;
  amount_cents: number;
  reference: string;
  fingerprint: string;
  status: 'pending' | 'processing' | 'failed' | 'cancelled';
  charge_id: string | null;
  /** Placed with `Prefer: respond-async`: a worker charges it. */
  async: boolean;
  failure: string | null;
  created_at: Date;
  lines: Array<{ product_id: number; quantity: number; amount_cents: number }>;
}

const COLS = `id::int AS id, user_id::int AS user_id, product_id::int AS product_id, quantity, amount_cents::int AS amount_cents,
  reference, fingerprint, status, charge_id, created_at, async, failure,
  coalesce((SELECT json_agg(json_build_object('product_id', l.product_id, 'quantity', l.quantity, 'amount_cents', l.amount_cents) ORDER BY l.product_id)
              FROM order_lines l WHERE l.order_id = orders.id), '[]') AS lines`;

const DELIVERY_DAYS = 3;

export function orderJson(o: OrderRow) {
  const eta = new Date(o.created_at.getTime() + DELIVERY_DAYS * 86_400_000);
  return {
    id: o.id,
    status: o.status,
    reference: o.reference,
    product_id: o.product_id,
    quantity: o.quantity,
    amount_cents: o.amount_cents,
    charge_id: o.charge_id,
    ...(o.failure ? { failure: o.failure } : {}),
    lines: o.lines,
    estimated_delivery: eta.toISOString().slice(0, 10),
    created_at: o.created_at.toISOString(),
  };
}

export async function findOrder(db: Db, id: number): Promise<OrderRow | undefined> {
  return (await db.query<OrderRow>(`SELECT ${COLS} FROM orders WHERE id = $1`, [id])).rows[0];
}

export async function listOrders(db: Db, filter: { userId?: number; reference?: string }): Promise<OrderRow[]> {
  const where: string[] = [`status <> 'cancelled'`];
  const params: unknown[] = [];
  if (filter.userId !== undefined) where.push(`user_id = $${params.push(filter.userId)}`);
  if (filter.reference !== undefined) where.push(`reference = $${params.push(filter.reference)}`);
  return (await db.query<OrderRow>(`SELECT ${COLS} FROM orders WHERE ${where.join(' AND ')} ORDER BY id LIMIT 1000`, params)).rows;
}

export async function cancelOrder(db: Db, id: number): Promise<boolean> {
  return db.tx(async (c) => {
    const { rows } = await c.query<{ was: OrderRow['status'] }>(
      `UPDATE orders o SET status = 'cancelled', cancelled_at = now()
         FROM (SELECT id, status AS was FROM orders WHERE id = $1 FOR UPDATE) old
        WHERE o.id = old.id AND o.status <> 'cancelled' RETURNING old.was`,
      [id],
    );
    const row = rows[0];
    if (!row) return false;
    // The cancelled order's units go back on sale — every line's, and only once (a failed order's already went back).
    if (row.was !== 'failed') {
      await c.query(
        `UPDATE products p SET stock = p.stock + l.quantity, version = p.version + 1 FROM order_lines l WHERE l.order_id = $1 AND p.id = l.product_id`,
        [id],
      );
    }
    return true;
  });
}

export type Reserve =
  | { kind: 'created'; order: OrderRow }
  | { kind: 'existing'; order: OrderRow }
  | { kind: 'reference-reused'; order: OrderRow }
  | { kind: 'empty' }
  | { kind: 'out-of-stock'; productId: number }
  | { kind: 'product-gone'; productId: number }
  /** Another request with this reference inserted its order first (its transaction, and this one's stock, rolled back). */
  | { kind: 'concurrent' };

/** A line that cannot be reserved: thrown inside the transaction, so every line reserved before it rolls back. */
class Unavailable extends Error {
  constructor(readonly result: Extract<Reserve, { kind: 'out-of-stock' | 'product-gone' }>) {
    super(result.kind);
  }
}

/**
 * One reservation for every way an order is made (POST /orders: one line; POST /checkout: the cart), in one
 * transaction: find the user's order with this reference — the row lock serialises two requests that carry it — or
 * reserve every line's stock, insert the order as `pending` with its lines, and (from the cart) empty the cart. A
 * line short of stock rolls all of it back.
 */
export async function reserve(
  db: Db,
  o: { userId: number; reference: string; fingerprint: string; lines: 'cart' | Array<{ productId: number; quantity: number }>; async?: { paymentToken: string } },
): Promise<Reserve> {
  return db
    .tx(async (c: Queryable): Promise<Reserve> => {
      const existing = (await c.query<OrderRow>(`SELECT ${COLS} FROM orders WHERE user_id = $1 AND reference = $2 FOR UPDATE`, [o.userId, o.reference])).rows[0];
      if (existing) return existing.fingerprint === o.fingerprint ? { kind: 'existing', order: existing } : { kind: 'reference-reused', order: existing };
      const wanted =
        o.lines === 'cart'
          ? (await c.query<{ product_id: string; quantity: number }>(`SELECT product_id, quantity FROM cart_items WHERE user_id = $1 ORDER BY id FOR UPDATE`, [o.userId])).rows.map(
              (r) => ({ productId: Number(r.product_id), quantity: r.quantity }),
            )
          : o.lines;
      if (wanted.length === 0) return { kind: 'empty' };
      const lines: Array<{ product_id: number; quantity: number; amount_cents: number }> = [];
      for (const w of wanted) {
        const p = (
          await c.query<{ price_cents: number }>(
            `UPDATE products SET stock = stock - $2, version = version + 1 WHERE id = $1 AND deleted_at IS NULL AND stock >= $2 RETURNING price_cents`,
            [w.productId, w.quantity],
          )
        ).rows[0];
        if (!p) {
          const { rowCount } = await c.query(`SELECT 1 FROM products WHERE id = $1 AND deleted_at IS NULL`, [w.productId]);
          throw new Unavailable({ kind: rowCount ? 'out-of-stock' : 'product-gone', productId: w.productId });
        }
        lines.push({ product_id: w.productId, quantity: w.quantity, amount_cents: p.price_cents * w.quantity });
      }
      const first = lines[0]!;
      // ON CONFLICT: a request with the same reference that committed after our SELECT; its order wins.
      const inserted = (
        await c.query<OrderRow>(
          `INSERT INTO orders (user_id, product_id, quantity, amount_cents, reference, fingerprint, status, async, payment_token)
           VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) ON CONFLICT (user_id, reference) DO NOTHING RETURNING ${COLS}`,
          [o.userId, first.product_id, first.quantity, lines.reduce((n, l) => n + l.amount_cents, 0), o.reference, o.fingerprint, o.async !== undefined, o.async?.paymentToken ?? null],
        )
      ).rows[0];
      if (!inserted) throw new ConcurrentReference();
      for (const l of lines) {
        await c.query(`INSERT INTO order_lines (order_id, product_id, quantity, amount_cents) VALUES ($1, $2, $3, $4)`, [inserted.id, l.product_id, l.quantity, l.amount_cents]);
      }
      if (o.lines === 'cart') await c.query(`DELETE FROM cart_items WHERE user_id = $1`, [o.userId]);
      // RETURNING ran before the lines existed.
      inserted.lines = lines;
      return { kind: 'created', order: inserted };
    })
    .catch((e): Reserve => {
      if (e instanceof Unavailable) return e.result;
      if (e instanceof ConcurrentReference) return { kind: 'concurrent' };
      throw e;
    });
}

/** Two requests with one reference inserted at once: thrown to roll the loser's transaction back. */
class ConcurrentReference extends Error {}

export async function markPaid(db: Db, id: number, chargeId: string): Promise<OrderRow> {
  const { rows } = await db.query<OrderRow>(
    `UPDATE orders SET status = CASE WHEN status = 'pending' THEN 'processing' ELSE status END, charge_id = $2,
            payment_token = NULL, claimed_by = NULL WHERE id = $1 RETURNING ${COLS}`,
    [id, chargeId],
  );
  return rows[0]!;
}

/** The provider declined: the order fails and its units go back on sale, in one transaction. */
export async function failOrder(db: Db, id: number, failure: string): Promise<OrderRow> {
  return db.tx(async (c) => {
    const failed = (
      await c.query<OrderRow>(
        `UPDATE orders SET status = 'failed', failure = $2, payment_token = NULL, claimed_by = NULL WHERE id = $1 AND status = 'pending' RETURNING ${COLS}`,
        [id, failure],
      )
    ).rows[0];
    if (!failed) return (await c.query<OrderRow>(`SELECT ${COLS} FROM orders WHERE id = $1`, [id])).rows[0]!;
    for (const l of failed.lines) await c.query(`UPDATE products SET stock = stock + $2, version = version + 1 WHERE id = $1`, [l.product_id, l.quantity]);
    return failed;
  });
}

// ---- asynchronous orders: the order row is the job (migration 004) ----

/** How long a client should wait before looking at an accepted (202) order again: its Retry-After. */
export const ASYNC_POLL_S = 1;

/** A worker's claim is stale when its heartbeat is older than this: the worker died, another may take the order. */
export const ORDER_CLAIM_STALE_MS = 2000;

export interface ClaimedOrder {
  order: OrderRow;
  paymentToken: string;
  attempts: number;
}

/** Claims the oldest async order due for its charge (FOR UPDATE SKIP LOCKED: two workers never claim one at once). */
export async function claimAsyncOrder(db: Db, worker: string): Promise<ClaimedOrder | undefined> {
  const { rows } = await db.query<OrderRow & { payment_token: string; attempts: number }>(
    `UPDATE orders SET claimed_by = $1, heartbeat_at = now(), attempts = attempts + 1
      WHERE id = (SELECT id FROM orders
                   WHERE async AND status = 'pending' AND (not_before IS NULL OR not_before <= now())
                     AND (claimed_by IS NULL OR heartbeat_at < now() - make_interval(secs => $2))
                   ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
      RETURNING ${COLS}, payment_token, attempts`,
    [worker, ORDER_CLAIM_STALE_MS / 1000],
  );
  const row = rows[0];
  return row && { order: row, paymentToken: row.payment_token, attempts: row.attempts };
}

/** Still ours? Refreshes the heartbeat; false when another worker took the order over (or it is finished). */
export async function heartbeatOrder(db: Db, id: number, worker: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE orders SET heartbeat_at = now() WHERE id = $1 AND claimed_by = $2 AND status = 'pending'`, [id, worker]);
  return rowCount === 1;
}

/** The provider was away: give the order back, to be tried again after `delayMs`. */
export async function deferOrder(db: Db, id: number, worker: string, delayMs: number): Promise<void> {
  await db.query(
    `UPDATE orders SET claimed_by = NULL, not_before = now() + make_interval(secs => $3) WHERE id = $1 AND claimed_by = $2 AND status = 'pending'`,
    [id, worker, delayMs / 1000],
  );
}
