/**
 * The SDK's retry rules, in one place, as pure functions (tested with an injected clock, never by sleeping).
 *
 *  - 429 and 503 are retried, waiting what Retry-After says (delta-seconds or HTTP-date, RFC 9110 §10.2.3), capped,
 *    with jitter; without Retry-After, exponential backoff. Retry-After wins over the RateLimit fields
 *    (draft-ietf-httpapi-ratelimit-headers §4.1: "the Retry-After field MUST take precedence").
 *  - Only what is safe to repeat: idempotent methods (RFC 9110 §9.2.2), or a POST carrying an Idempotency-Key.
 *  - 500 is never retried (seed §4: "it's a bug, not a capacity issue"); neither is any other status.
 *  - 502/504 and lost connections after a POST are not retried here: for orders they go to reconciliation
 *    (seed §4, "the 504 uncertainty problem").
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
  /** Share of the delay added at random (0–1), so clients told the same Retry-After do not return together. */
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
  const base = told ?? o.policy.baseDelayMs * 2 ** (o.attempt - 1);
  const capped = Math.min(base, o.policy.maxDelayMs);
  return Math.round(capped + capped * o.policy.jitter * o.random());
}
