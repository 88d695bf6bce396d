/**
 * Idempotency records in PostgreSQL (draft-ietf-httpapi-idempotency-key-header): one row per (user, key), claimed by
 * one INSERT on that primary key — one winner across every target process — holding the first answer once there is
 * one. The life of a key as a request sees it is in ../idempotency.ts; this file is its SQL.
 */
import type { Db } from '../../db/pool.ts';
import type { Outcome } from '../decision/types.ts';
import { ASYNC_POLL_S } from './orders.ts';

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
