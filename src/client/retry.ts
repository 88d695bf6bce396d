/**
 * The SDK's retry rules, in one place, as pure functions (tested with an injected clock, never by sleeping).
 *
 *  - 429 and 503 are retried, waiting exactly what Retry-After says (delta-seconds or HTTP-date, RFC 9110 §10.2.3),
 *    capped; without Retry-After, exponential backoff with jitter. No wait exceeds the cap. Retry-After wins over the RateLimit fields
 *    (draft-ietf-httpapi-ratelimit-headers §4.1: "the Retry-After field MUST take precedence").
 *  - Only what is safe to repeat: idempotent methods (RFC 9110 §9.2.2), or a POST carrying an Idempotency-Key.
 *  - 500 is never retried (docs/status-codes.md, "500 Internal Server Error": a bug, not a lack of capacity); neither is any other status.
 *  - 502/504 and lost connections after a POST are not retried here: for orders they go to reconciliation
 *    (docs/status-codes.md, "The 504 uncertainty").
 */
import { parseRetryAfter } from '../http/index.ts';

export const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
export const RETRY_STATUSES = new Set([429, 503]);

export interface RetryPolicy {
  /** Retries after the first attempt. */
  limit: number;
  /** Longest single wait, whatever Retry-After says. */
  maxDelayMs: number;
  /** First backoff step when the server gave no Retry-After. */
  baseDelayMs: number;
  /** Share of a backoff added at random (0–1), so clients that failed together do not retry together. Never added to a server's Retry-After. */
  jitter: number;
}

export function isSafeToRetry(method: string, headers: Record<string, string | undefined>): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase()) || (method.toUpperCase() === 'POST' && !!headers['idempotency-key']);
}

/**
 * How long to wait before retry number `attempt` (1-based) of a request that got `status`, or undefined when it must
 * not be retried.
 */
export function retryDelay(o: {
  attempt: number;
  status: number;
  method: string;
  requestHeaders: Record<string, string | undefined>;
  retryAfter: string | null | undefined;
  policy: RetryPolicy;
  now: number;
  random: () => number;
}): number | undefined {
  if (o.attempt > o.policy.limit) return undefined;
  if (!RETRY_STATUSES.has(o.status)) return undefined;
  if (!isSafeToRetry(o.method, o.requestHeaders)) return undefined;
  const told = parseRetryAfter(o.retryAfter ?? undefined, o.now);
  // The server named its time: wait exactly that (capped). Jitter would only lengthen it, and waiting less would
  // come back before the server said to.
  if (told !== undefined) return Math.round(Math.min(told, o.policy.maxDelayMs));
  // Our own backoff is what jitter spreads, so clients that failed together do not return together; the cap is
  // applied last, so no wait ever exceeds the maximum the options promise.
  const backoff = o.policy.baseDelayMs * 2 ** (o.attempt - 1);
  return Math.round(Math.min(backoff + backoff * o.policy.jitter * o.random(), o.policy.maxDelayMs));
}
