/**
 * The life of an idempotency key, for every route that creates something (POST /orders, POST /checkout), after
 * draft-ietf-httpapi-idempotency-key-header:
 *
 *   key of the request ── Idempotency-Key, else the body's reference; neither: not idempotent
 *   replay (decision step 4, locate) ── a completed key answers with its first answer (Idempotent-Replayed: true),
 *                                       the same key with another body is 422, one still in flight is 409
 *   once (the handler) ── claim the key; do the work; store its answer — or, when it failed (409, 503, 500),
 *                         release the key so a retry can run
 *
 * The SQL is in store/idempotency-keys.ts; the order's unique reference and the charge keyed by the order id make a
 * second order or a second charge impossible even where a key is not used (docs/errors.md, "Idempotency").
 */
import crypto from 'node:crypto';
import { problemOf, type HttpProblem } from '../http/index.ts';
import { badRequest } from './decision/parse.ts';
import type { Outcome } from './decision/types.ts';
import { unprocessable } from './decision/validate.ts';
import type { ShopDeps } from './deps.ts';
import * as keys from './store/idempotency-keys.ts';

interface KeyedRequest {
  req: { headers: Record<string, string | string[] | undefined> };
  body: { reference?: string };
  user: { id: number };
  deps: Pick<ShopDeps, 'db' | 'config'>;
}

/** What makes two requests "the same": a hash of the fields that decide the result, in a fixed order. */
export function fingerprint(parts: unknown[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * The request's key within `scope` (each creating route has its own): the Idempotency-Key header — an RFC 8941
 * sf-string per the draft, or Stripe's bare token, both accepted — else the client's reference.
 */
export function keyOf(ctx: Pick<KeyedRequest, 'req' | 'body'>, scope: string): string | undefined {
  const raw = ctx.req.headers['idempotency-key'];
  let key: string | undefined;
  if (raw !== undefined) {
    const v = Array.isArray(raw) ? raw.join(',') : raw;
    const bare = /^"(.*)"$/.test(v) ? v.slice(1, -1) : v;
    if (!/^[\x21-\x7e]{1,255}$/.test(bare)) {
      throw badRequest('headers', [{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }]);
    }
    key = `key:${bare}`;
  } else if (ctx.body.reference !== undefined) key = `ref:${ctx.body.reference}`;
  return key === undefined ? undefined : scope + key;
}

/** 409 while another request holds the key (or the reference): retry in a second and get its answer. */
export function requestInFlight(detail: string): HttpProblem {
  return problemOf('request-in-flight', { detail, headers: { 'retry-after': '1' } });
}

function answerFor(state: keys.KeyState): Outcome | undefined {
  switch (state.kind) {
    case 'done':
      return state.outcome;
    case 'in-flight':
      throw requestInFlight('A request with this idempotency key is still being processed. Retry in a moment; it will get the same result.');
    case 'mismatch':
      throw unprocessable(
        [{ field: 'Idempotency-Key', message: 'was already used with a different request body' }],
        'This idempotency key (or reference) was already used for a different order. Use a new key for a new order.',
      );
    case 'claimed':
      return undefined;
  }
}

/** Step 4 (locate): the answer an earlier request with this key already earned, if any. */
export async function replay(ctx: KeyedRequest, scope: string, fp: string): Promise<Outcome | undefined> {
  const key = keyOf(ctx, scope);
  if (key === undefined) return undefined;
  const state = await keys.peekKey(ctx.deps.db, ctx.user.id, key, fp);
  return state && answerFor(state);
}

/** The handler's work, run once per key: claimed first, its answer stored, or the key released when it fails. */
export async function once(ctx: KeyedRequest, scope: string, fp: string, work: () => Promise<Outcome>): Promise<Outcome> {
  const key = keyOf(ctx, scope);
  if (key === undefined) return work();
  const { db, config } = ctx.deps;
  // The lease outlives the slowest payment we wait for, so a live request is never taken over.
  const decided = answerFor(await keys.claimKey(db, ctx.user.id, key, fp, config.paymentTimeoutMs + 5_000));
  if (decided) return decided;
  try {
    const outcome = await work();
    await keys.completeKey(db, ctx.user.id, key, outcome);
    return outcome;
  } catch (e) {
    await keys.releaseKey(db, ctx.user.id, key).catch(() => {});
    throw e;
  }
}
