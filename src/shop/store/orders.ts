/**
 * Orders and their idempotency records in PostgreSQL.
 *
 * Why a replay can never make a second order or a second charge, even across target processes:
 * - an idempotency key is claimed by one INSERT on the (user_id, key) primary key: one winner, the others see it;
 * - an order's reference is unique per user, so even two different keys with one reference make one order;
 * - the charge's key is derived from the order id, and the provider answers a repeated key with the first charge.
 */
import crypto from 'node:crypto';
import type { Db, Queryable } from '../../db/pool.ts';
import type { Outcome } from '../decision/types.ts';

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

/** A request's identity for idempotency: the same fields in any key order give the same fingerprint. */
export function fingerprint(input: { product_id: number; quantity: number; payment_token: string; reference?: string | undefined }): string {
  const canonical = JSON.stringify([input.product_id, input.quantity, input.payment_token, input.reference ?? null]);
  return crypto.createHash('sha256').update(canonical).digest('hex');
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
  | { kind: 'out-of-stock' }
  | { kind: 'product-gone' };

/**
 * Finds the user's order with this reference, or reserves stock and inserts it as `pending`, in one transaction.
 * The row lock on an existing order serialises two requests that carry the same reference.
 */
export async function reserveOrder(
  db: Db,
  o: { userId: number; productId: number; quantity: number; reference: string; fingerprint: string; async?: { paymentToken: string } },
): Promise<Reserve> {
  return db.tx(async (c: Queryable) => {
    const existing = (await c.query<OrderRow>(`SELECT ${COLS} FROM orders WHERE user_id = $1 AND reference = $2 FOR UPDATE`, [o.userId, o.reference]))
      .rows[0];
    if (existing) return existing.fingerprint === o.fingerprint ? { kind: 'existing', order: existing } : { kind: 'reference-reused', order: existing };
    const product = (
      await c.query<{ price_cents: number }>(
        `UPDATE products SET stock = stock - $2, version = version + 1
          WHERE id = $1 AND deleted_at IS NULL AND stock >= $2 RETURNING price_cents`,
        [o.productId, o.quantity],
      )
    ).rows[0];
    if (!product) {
      const { rowCount } = await c.query(`SELECT 1 FROM products WHERE id = $1 AND deleted_at IS NULL`, [o.productId]);
      return rowCount ? { kind: 'out-of-stock' } : { kind: 'product-gone' };
    }
    // ON CONFLICT: a request with the same reference that committed after our SELECT; its order wins.
    const inserted = (
      await c.query<OrderRow>(
        `INSERT INTO orders (user_id, product_id, quantity, amount_cents, reference, fingerprint, status, async, payment_token)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) ON CONFLICT (user_id, reference) DO NOTHING RETURNING ${COLS}`,
        [o.userId, o.productId, o.quantity, product.price_cents * o.quantity, o.reference, o.fingerprint, o.async !== undefined, o.async?.paymentToken ?? null],
      )
    ).rows[0];
    if (!inserted) throw new ConcurrentReference();
    await c.query(`INSERT INTO order_lines (order_id, product_id, quantity, amount_cents) VALUES ($1, $2, $3, $4)`, [
      inserted.id,
      o.productId,
      o.quantity,
      inserted.amount_cents,
    ]);
    // RETURNING ran before the line existed.
    inserted.lines = [{ product_id: o.productId, quantity: o.quantity, amount_cents: inserted.amount_cents }];
    return { kind: 'created', order: inserted };
  });
}

/** Two requests with one reference inserted at once; the loser's transaction (and its stock reservation) rolled back. */
export class ConcurrentReference extends Error {}

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

// ---- idempotency records (draft-ietf-httpapi-idempotency-key-header) ----

export type KeyState =
  | { kind: 'claimed' }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' }
  | { kind: 'done'; outcome: Outcome };

interface KeyRow {
  fingerprint: string;
  state: 'in_flight' | 'done';
  response_status: number | null;
  response_body: unknown;
  response_location: string | null;
}

function judge(row: KeyRow, fp: string): KeyState {
  if (row.fingerprint !== fp) return { kind: 'mismatch' };
  if (row.state === 'in_flight') return { kind: 'in-flight' };
  return {
    kind: 'done',
    outcome: {
      status: row.response_status as Outcome['status'],
      body: row.response_body,
      // Stripe's name for the marker; the draft leaves it open.
      headers: {
        ...(row.response_location ? { location: row.response_location } : {}),
        // A replayed 202 still tells the client when to poll.
        ...(row.response_status === 202 ? { 'retry-after': String(ASYNC_POLL_S) } : {}),
        'idempotent-replayed': 'true',
      },
    },
  };
}

/**
 * How long a key is remembered (the draft: a resource MUST publish its expiry policy; Stripe keeps keys 24 hours).
 * An older key counts as new. The order's reference stays unique for ever, so even then no second order is made.
 */
export const KEY_TTL_S = 24 * 3600;

/**
 * Read-only look at a key: what an earlier request with it left behind — undefined when the key is new, or when its
 * request died holding it (the lease ran out): then this request may take it over (claimKey).
 */
export async function peekKey(db: Db, userId: number, key: string, fp: string): Promise<KeyState | undefined> {
  const row = (
    await db.query<KeyRow & { abandoned: boolean }>(
      `SELECT fingerprint, state, response_status, response_body, response_location, (state = 'in_flight' AND locked_until < now()) AS abandoned
         FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at > now() - make_interval(secs => $3)`,
      [userId, key, KEY_TTL_S],
    )
  ).rows[0];
  if (!row || (row.abandoned && row.fingerprint === fp)) return undefined;
  return judge(row, fp);
}

/** Forgets keys past their time (each target runs it now and then). */
export async function pruneKeys(db: Db): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`, [KEY_TTL_S]);
  return rowCount ?? 0;
}

/**
 * Claims a key for this request. A key whose lease ran out (its request died with its process) may be taken over
 * by a request with the same payload; a key older than KEY_TTL_S counts as new.
 */
export async function claimKey(db: Db, userId: number, key: string, fp: string, leaseMs: number): Promise<KeyState> {
  const { rowCount } = await db.query(
    `INSERT INTO idempotency_keys (user_id, key, fingerprint, state, locked_until)
     VALUES ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4))
     ON CONFLICT (user_id, key) DO UPDATE SET locked_until = EXCLUDED.locked_until, fingerprint = EXCLUDED.fingerprint,
         state = 'in_flight', response_status = NULL, response_body = NULL, response_location = NULL, created_at = now()
       WHERE (idempotency_keys.state = 'in_flight' AND idempotency_keys.locked_until < now()
              AND idempotency_keys.fingerprint = EXCLUDED.fingerprint)
          OR idempotency_keys.created_at < now() - make_interval(secs => $5)`,
    [userId, key, fp, leaseMs / 1000, KEY_TTL_S],
  );
  if (rowCount === 1) return { kind: 'claimed' };
  return (await peekKey(db, userId, key, fp)) ?? { kind: 'in-flight' };
}

export async function completeKey(db: Db, userId: number, key: string, outcome: Outcome): Promise<void> {
  await db.query(
    `UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4, response_location = $5 WHERE user_id = $1 AND key = $2`,
    [userId, key, outcome.status, JSON.stringify(outcome.body ?? null), outcome.headers?.location ?? null],
  );
}

/** Gives a key back when its request ended without a result worth replaying (503, 409, 500), so a retry can run. */
export async function releaseKey(db: Db, userId: number, key: string): Promise<void> {
  await db.query(`DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'in_flight'`, [userId, key]);
}

// ---- checkout: the cart becomes one order ----

export type CheckoutReserve = { kind: 'created' | 'existing'; order: OrderRow } | { kind: 'empty' } | { kind: 'out-of-stock'; productId: number } | { kind: 'reference-reused' };

/**
 * In one transaction: lock the user's cart, reserve every line's stock, make the order (pending) and its lines, empty
 * the cart. Any line short of stock rolls all of it back.
 */
export async function reserveCheckout(db: Db, o: { userId: number; reference: string; fingerprint: string }): Promise<CheckoutReserve> {
  return db.tx(async (c): Promise<CheckoutReserve> => {
    const existing = (await c.query<OrderRow>(`SELECT ${COLS} FROM orders WHERE user_id = $1 AND reference = $2 FOR UPDATE`, [o.userId, o.reference])).rows[0];
    if (existing) return existing.fingerprint === o.fingerprint ? { kind: 'existing', order: existing } : { kind: 'reference-reused' };
    const items = (
      await c.query<{ product_id: string; quantity: number }>(`SELECT product_id, quantity FROM cart_items WHERE user_id = $1 ORDER BY id FOR UPDATE`, [o.userId])
    ).rows;
    if (items.length === 0) return { kind: 'empty' };
    const lines: Array<{ productId: number; quantity: number; amount: number }> = [];
    for (const item of items) {
      const p = (
        await c.query<{ price_cents: number }>(
          `UPDATE products SET stock = stock - $2, version = version + 1 WHERE id = $1 AND deleted_at IS NULL AND stock >= $2 RETURNING price_cents`,
          [item.product_id, item.quantity],
        )
      ).rows[0];
      if (!p) throw new OutOfStock(Number(item.product_id));
      lines.push({ productId: Number(item.product_id), quantity: item.quantity, amount: p.price_cents * item.quantity });
    }
    const first = lines[0]!;
    const order = (
      await c.query<OrderRow>(
        `INSERT INTO orders (user_id, product_id, quantity, amount_cents, reference, fingerprint, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING ${COLS}`,
        [o.userId, first.productId, first.quantity, lines.reduce((n, l) => n + l.amount, 0), o.reference, o.fingerprint],
      )
    ).rows[0]!;
    for (const l of lines) {
      await c.query(`INSERT INTO order_lines (order_id, product_id, quantity, amount_cents) VALUES ($1, $2, $3, $4)`, [order.id, l.productId, l.quantity, l.amount]);
    }
    await c.query(`DELETE FROM cart_items WHERE user_id = $1`, [o.userId]);
    return { kind: 'created', order };
  }).catch((e): CheckoutReserve => {
    if (e instanceof OutOfStock) return { kind: 'out-of-stock', productId: e.productId };
    throw e;
  });
}

class OutOfStock extends Error {
  constructor(readonly productId: number) {
    super('out of stock');
  }
}
