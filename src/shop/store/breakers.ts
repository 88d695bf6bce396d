/**
 * Each target's payment circuit breaker, as it last changed (migration 004). A breaker lives in one target process
 * — each learns of the provider's trouble by itself — so the table has one row per target; the control plane shows
 * them beside the fault document.
 */
import type { Db } from '../../db/pool.ts';
import type { BreakerState } from '../payments.ts';

export async function recordBreakerState(db: Db, targetId: string, state: BreakerState, halfOpenAt?: number): Promise<void> {
  await db.query(
    `INSERT INTO payment_breakers (target_id, state, half_open_at, changed_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (target_id) DO UPDATE SET state = EXCLUDED.state, half_open_at = EXCLUDED.half_open_at, changed_at = now()`,
    [targetId, state, halfOpenAt === undefined ? null : new Date(halfOpenAt)],
  );
}

/** A target stopping for good takes its breaker out of the picture. */
export async function forgetBreaker(db: Db, targetId: string): Promise<void> {
  await db.query('DELETE FROM payment_breakers WHERE target_id = $1', [targetId]);
}
