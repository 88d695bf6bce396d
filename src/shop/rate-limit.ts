/**
 * Rate limits (429, RFC 6585 §4), shared by every target process: the store is PostgreSQL by default, Redis with
 * REDIS_URL (rate-limiter-flexible; both count atomically in the store, so N concurrent requests against a limit of
 * L let exactly L through, whichever targets they reach).
 *
 * Two limits (docs/status-codes.md, "429 Too Many Requests"): `checkout` — CHECKOUT_RATE_LIMIT per user per minute on POST /checkout; `general` —
 * RATE_LIMIT per user per minute on every authenticated route (and per client address on the token endpoints).
 * Answers carry the widely used X-RateLimit-* fields and the IETF draft's RateLimit-Policy / RateLimit
 * (draft-ietf-httpapi-ratelimit-headers-10, structured fields).
 */
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { DependencyUnavailable, formatRetryAfter, problemOf } from '../http/index.ts';

export type LimitName = 'checkout' | 'general';

export interface LimitState {
  name: LimitName;
  limit: number;
  windowS: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export function rateLimitHeaders(s: LimitState, now = Date.now()): Record<string, string> {
  const resetS = Math.max(0, Math.ceil(s.resetMs / 1000));
  return {
    'x-ratelimit-limit': String(s.limit),
    'x-ratelimit-remaining': String(s.remaining),
    'x-ratelimit-reset': String(Math.ceil((now + s.resetMs) / 1000)),
    'ratelimit-policy': `"${s.name}";q=${s.limit};w=${s.windowS}`,
    ratelimit: `"${s.name}";r=${s.remaining};t=${resetS}`,
  };
}

export class RateLimits {
  readonly #limiters: Record<LimitName, { impl: RateLimiterAbstract; limit: number }>;
  readonly #windowS = 60;
  readonly #retryAfterS: number;
  /** What a 503 names when the store is away: the database itself, or Redis. */
  readonly #storeName: string;

  constructor(opts: { checkout: number; general: number; store: { pg: pg.Pool } | { redis: Redis }; retryAfterS: number; prefix?: string }) {
    const make = (name: LimitName, points: number): RateLimiterAbstract => {
      const common = { points, duration: this.#windowS, keyPrefix: `${opts.prefix ?? 'receipt'}:${name}` };
      return 'redis' in opts.store
        ? new RateLimiterRedis({ ...common, storeClient: opts.store.redis })
        : new RateLimiterPostgres({ ...common, storeClient: opts.store.pg, storeType: 'pool', tableName: 'rate_limits', tableCreated: true });
    };
    this.#limiters = {
      checkout: { impl: make('checkout', opts.checkout), limit: opts.checkout },
      general: { impl: make('general', opts.general), limit: opts.general },
    };
    this.#retryAfterS = opts.retryAfterS;
    this.#storeName = 'redis' in opts.store ? 'redis' : 'database';
  }

  #state(name: LimitName, r: RateLimiterRes | null): LimitState {
    const { limit } = this.#limiters[name];
    return { name, limit, windowS: this.#windowS, remaining: r ? Math.max(0, r.remainingPoints) : limit, resetMs: r ? r.msBeforeNext : this.#windowS * 1000 };
  }

  /** Spends one point: the state after it, or a 429 problem carrying the headers. */
  async consume(name: LimitName, key: string): Promise<LimitState> {
    try {
      return this.#state(name, await this.#limiters[name].impl.consume(key));
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw new DependencyUnavailable(this.#storeName, this.#retryAfterS, e);
      const state = { ...this.#state(name, e), remaining: 0 };
      const waitS = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
      throw problemOf('rate-limited', {
        detail: `Too many requests. Please wait ${waitS} seconds.`,
        // RFC 6585 §4: a 429 MUST NOT be stored by a cache.
        headers: { ...rateLimitHeaders(state), 'retry-after': formatRetryAfter(waitS), 'cache-control': 'no-store' },
        extensions: { limit: state.limit, window_s: state.windowS, retry_after_s: waitS },
      });
    }
  }

  /** The state without spending (for answers decided before the rate-limit step). */
  async peek(name: LimitName, key: string): Promise<LimitState> {
    return this.#state(name, await this.#limiters[name].impl.get(key));
  }
}
