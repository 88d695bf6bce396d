/**
 * The SDK's options, normalised once (ky's `normalize` idea): every default is here and documented.
 */
import type { Dispatcher } from 'undici';
import type { RetryPolicy } from './retry.ts';

export interface ClientOptions {
  /** Where the API is, e.g. `http://127.0.0.1:8080`. Required. */
  baseUrl: string;
  /** Credentials for signing in and for re-signing in when a refresh token is spent. */
  credentials?: { username: string; password: string };
  /** Retries for 429/503. Default: 3 retries, waits capped at 60 s (so a Retry-After of 47 seconds is honoured), first backoff 500 ms, 20% jitter on backoffs (never on a server's Retry-After). */
  retry?: Partial<RetryPolicy>;
  /** Redirects followed at most (docs/status-codes.md, "The redirect chain": Receipt draws the line at five). Default 5. */
  maxRedirects?: number;
  /** One request's time limit, in ms. Default 120 000 (longer than ALB's 60 s idle timeout). */
  timeoutMs?: number;
  /** Keep ETags and answer from the cache on 304. Default true. */
  cache?: boolean;
  /** How many answers the ETag cache keeps, least recently used dropped first. Default 256. */
  cacheEntries?: number;
  /** The undici dispatcher (connection pool) to use. Default: undici's global one. */
  dispatcher?: Dispatcher;
  /** For tests: the clock, the random source and the sleep. */
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface NormalizedOptions {
  baseUrl: URL;
  credentials: { username: string; password: string } | undefined;
  retry: RetryPolicy;
  maxRedirects: number;
  timeoutMs: number;
  cache: boolean;
  cacheEntries: number;
  dispatcher: Dispatcher | undefined;
  now: () => number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { limit: 3, maxDelayMs: 60_000, baseDelayMs: 500, jitter: 0.2 };

export function normalizeOptions(o: ClientOptions): NormalizedOptions {
  if (!o.baseUrl) throw new TypeError('baseUrl is required');
  return {
    baseUrl: new URL(o.baseUrl.endsWith('/') ? o.baseUrl : o.baseUrl + '/'),
    credentials: o.credentials,
    retry: { ...DEFAULT_RETRY, ...o.retry },
    maxRedirects: o.maxRedirects ?? 5,
    timeoutMs: o.timeoutMs ?? 120_000,
    cache: o.cache ?? true,
    cacheEntries: o.cacheEntries ?? 256,
    dispatcher: o.dispatcher,
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
    sleep: o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
  };
}
