/**
 * The Receipt SDK: a typed client of the shop API that behaves as a careful client does (docs/sdk.md;
 * docs/status-codes.md, "The checkout, case by case").
 *
 *  - 401 with error="invalid_token" → refresh the access token once (single flight: concurrent calls share one
 *    refresh) and retry; a second 401 surfaces (RFC 6750 §3.1).
 *  - 429 / 503 → wait Retry-After and retry only what is safe (src/client/retry.ts has every rule).
 *  - 204 / 304 → no body is ever parsed; 304 answers from the ETag cache.
 *  - Redirects as the Fetch standard does: 307/308 keep method and body, 301/302 turn POST into GET, 303 → GET;
 *    at most 5 hops, loops detected, Authorization dropped on a cross-origin hop (RFC 9110 §15.4).
 *  - createOrder never resends blindly after a 504/502 or a lost connection: it looks the order up by reference
 *    and resends, with the same Idempotency-Key, only when there is none (docs/reliability.md, the 504 uncertainty problem).
 */
import crypto from 'node:crypto';
import { request } from 'undici';
import { ConnectionError, RedirectError, ReceiptError } from './errors.ts';
import { normalizeOptions, type ClientOptions, type NormalizedOptions } from './options.ts';
import { retryDelay } from './retry.ts';
import { parseRetryAfter } from '../http/index.ts';

export interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: T;
  /** The final URL, after redirects. */
  url: string;
  /** True when a 304 was answered from the cache. */
  fromCache?: boolean;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the access token (default true). */
  auth?: boolean;
}

export interface Product {
  id: number;
  name: string;
  price_cents: number;
  stock: number;
}
export interface Order {
  id: number;
  status: string;
  reference: string;
  product_id: number;
  quantity: number;
  amount_cents: number;
  charge_id: string | null;
  lines: Array<{ product_id: number; quantity: number; amount_cents: number }>;
  estimated_delivery: string;
  created_at: string;
}
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
}

/** How createOrder got its order: which path of the 504 advice (docs/status-codes.md, "The 504 uncertainty") was taken. */
export type OrderOutcome =
  | 'created' // first attempt answered 201
  | 'replayed' // the server answered the stored first result (Idempotent-Replayed)
  | 'reconciled' // an uncertain failure, then the order was found by reference: not sent again
  | 'resent' // an uncertain failure, no order found, sent again with the same key
  | 'accepted'; // `async: true`: answered 202, then polled at Location until the worker settled it

export interface PlacedOrder {
  order: Order;
  outcome: OrderOutcome;
  reference: string;
  idempotencyKey: string;
  /** What happened, attempt by attempt (e.g. `POST 504`, `GET ?reference 200 (1 found)`). */
  trail: string[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class ReceiptClient {
  readonly #o: NormalizedOptions;
  #tokens: TokenPair | undefined;
  #refreshing: Promise<void> | undefined;
  /**
   * The ETag cache: a private cache (RFC 9111 §3), one per client and so per user, bounded (least recently used out
   * first) and honouring `Cache-Control: no-store`. Not undici's cache interceptor: that one is a shared cache by
   * default, which must not store answers to requests with Authorization (RFC 9111 §3.5) — every call here has one —
   * and it cannot tell the caller that an answer came from the cache (`fromCache`).
   */
  readonly #cache = new Map<string, { etag: string; body: unknown; headers: Record<string, string> }>();
  /** HTTP requests sent, redirects and retries included (tests count them). */
  requestsSent = 0;

  constructor(options: ClientOptions) {
    this.#o = normalizeOptions(options);
  }

  get accessToken(): string | undefined {
    return this.#tokens?.access_token;
  }

  /** Uses a token pair obtained elsewhere. */
  useTokens(tokens: TokenPair): void {
    this.#tokens = tokens;
  }

  async signIn(username = this.#o.credentials?.username, password = this.#o.credentials?.password): Promise<TokenPair> {
    if (!username || !password) throw new TypeError('signIn needs credentials');
    const res = await this.request<TokenPair>('POST', 'auth/token', { body: { username, password }, auth: false });
    this.#tokens = res.body;
    return res.body;
  }

  /** One refresh at a time: every caller that meets a 401 meanwhile waits for the same one. */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        if (this.#tokens?.refresh_token) {
          try {
            this.#tokens = (await this.request<TokenPair>('POST', 'auth/refresh', { body: { refresh_token: this.#tokens.refresh_token }, auth: false })).body;
            return;
          } catch (e) {
            if (!(e instanceof ReceiptError && e.status === 401) || !this.#o.credentials) throw e;
          }
        }
        await this.signIn();
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** One HTTP exchange, no redirects or retries. */
  async #exchange(method: string, url: URL, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
    this.requestsSent++;
    let res;
    try {
      res = await request(url, {
        method: method as 'GET',
        headers,
        body,
        headersTimeout: this.#o.timeoutMs,
        bodyTimeout: this.#o.timeoutMs,
        ...(this.#o.dispatcher ? { dispatcher: this.#o.dispatcher } : {}),
      });
    } catch (e) {
      throw new ConnectionError(`${method} ${url.pathname}: ${(e as Error).message}`, { cause: e });
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      // The answer broke off mid-body: as unknown as a lost connection.
      throw new ConnectionError(`${method} ${url.pathname}: the answer broke off (${(e as Error).message})`, { cause: e });
    }
    // 204 and 304 have no content (RFC 9110 §15.3.5, §15.4.5): never parse one.
    let parsed: unknown = undefined;
    if (res.statusCode !== 204 && res.statusCode !== 304 && text !== '') {
      parsed = /json/.test(out['content-type'] ?? '') ? safeJson(text) : text;
    }
    return { status: res.statusCode, headers: out, body: parsed, url: url.toString() };
  }

  /**
   * Follows redirects as the Fetch standard does (RFC 9110 §15.4), at most maxRedirects hops, no loops. Not undici's
   * redirect interceptor: it keeps POST on a 301/302 where Fetch (and every browser) use GET, it
   * loops only by URL and not by method, and it tells `request()` neither the final URL nor the hops it sent.
   */
  async #follow(method: string, url: URL, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
    const seen = new Set<string>();
    for (let hops = 0; ; hops++) {
      seen.add(`${method} ${url}`);
      const res = await this.#exchange(method, url, headers, body);
      if (!REDIRECTS.has(res.status) || !res.headers.location) return res;
      if (hops >= this.#o.maxRedirects) throw new RedirectError(`more than ${this.#o.maxRedirects} redirects (last: ${url})`);
      const next = new URL(res.headers.location, url);
      // 303 → GET; 301/302 turn a POST into GET (Fetch); 307/308 keep method and body.
      if ((res.status === 303 && method !== 'HEAD') || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('content-')));
      }
      if (next.origin !== url.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization' && k !== 'cookie'));
      }
      if (seen.has(`${method} ${next}`)) throw new RedirectError(`redirect loop at ${next}`);
      url = next;
    }
  }

  /** A request with everything the SDK does: auth, refresh, redirects, retries, the ETag cache. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    const url = new URL(path.replace(/^\//, ''), this.#o.baseUrl);
    const auth = opts.auth ?? true;
    if (auth && !this.#tokens && this.#o.credentials) await this.signIn();
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (auth && this.#tokens) headers.authorization = `Bearer ${this.#tokens.access_token}`;
      const cached = method === 'GET' && this.#o.cache ? this.#cache.get(url.toString()) : undefined;
      if (cached) {
        headers['if-none-match'] = cached.etag;
        // Most recently used last: Map keeps insertion order, so the first key is the one to drop.
        this.#cache.delete(url.toString());
        this.#cache.set(url.toString(), cached);
      }

      const res = await this.#follow(method, url, headers, body);
      if (res.status === 304 && cached) return { ...res, status: 200, body: cached.body as T, headers: { ...cached.headers, ...res.headers }, fromCache: true };
      if (res.status >= 200 && res.status < 300) {
        if (method === 'GET' && this.#o.cache && res.headers.etag && !/\bno-store\b/i.test(res.headers['cache-control'] ?? '')) {
          this.#cache.set(url.toString(), { etag: res.headers.etag, body: res.body, headers: res.headers });
          if (this.#cache.size > this.#o.cacheEntries) this.#cache.delete(this.#cache.keys().next().value!);
        }
        return res as Answer<T>;
      }
      const error = new ReceiptError(res.status, res.headers, res.body);
      if (res.status === 401 && auth && !refreshed && error.challenge?.error === 'invalid_token' && (this.#tokens?.refresh_token || this.#o.credentials)) {
        refreshed = true;
        await this.#refresh();
        attempt--;
        continue;
      }
      const delay = retryDelay({
        attempt,
        status: res.status,
        method,
        requestHeaders: headers,
        retryAfter: res.headers['retry-after'],
        policy: this.#o.retry,
        now: this.#o.now(),
        random: this.#o.random,
      });
      if (delay === undefined) throw error;
      await this.#o.sleep(delay);
    }
  }

  // ---- products ----
  listProducts = async () => (await this.request<Product[]>('GET', 'products', { auth: false })).body;
  getProduct = async (id: number) => (await this.request<Product>('GET', `products/${id}`, { auth: false })).body;
  createProduct = async (p: Omit<Product, 'id'>) => (await this.request<Product>('POST', 'products', { body: p })).body;
  updateProduct = async (id: number, p: Omit<Product, 'id'>, opts: { ifMatch?: string } = {}) =>
    (await this.request<Product>('PUT', `products/${id}`, { body: p, headers: opts.ifMatch ? { 'if-match': opts.ifMatch } : {} })).body;
  deleteProduct = async (id: number) => void (await this.request('DELETE', `products/${id}`));

  // ---- orders ----
  getOrder = async (id: number) => (await this.request<Order>('GET', `orders/${id}`)).body;
  listOrders = async (q: { reference?: string } = {}) =>
    (await this.request<Order[]>('GET', `orders${q.reference !== undefined ? `?reference=${encodeURIComponent(q.reference)}` : ''}`)).body;
  cancelOrder = async (id: number) => void (await this.request('DELETE', `orders/${id}`));

  /**
   * Places an order, always with a reference and an Idempotency-Key. After an answer that leaves the outcome unknown
   * — 504, 502, or a lost connection — it does not resend blindly: it asks `GET /orders?reference=` and returns the
   * order if it exists; only when none does is the request sent again, with the same key.
   *
   * With `async: true` it sends `Prefer: respond-async` (RFC 7240): the shop answers 202 at once and a worker charges
   * the order, so a slow payment cannot become a 504 at all; the SDK then polls the Location as Retry-After says until
   * the order is no longer `pending` (`processing`: paid; `failed`: declined). These are the two answers to the
   * 504 (docs/status-codes.md, "The 504 uncertainty"): reconcile after it, or never wait long enough to meet it.
   */
  async createOrder(
    input: { product_id: number; quantity: number; payment_token: string; reference?: string },
    opts: { idempotencyKey?: string; maxRounds?: number; async?: boolean; pollTimeoutMs?: number } = {},
  ): Promise<PlacedOrder> {
    const reference = input.reference ?? crypto.randomUUID();
    const idempotencyKey = opts.idempotencyKey ?? crypto.randomUUID();
    const trail: string[] = [];
    const headers: Record<string, string> = { 'idempotency-key': idempotencyKey, ...(opts.async ? { prefer: 'respond-async' } : {}) };
    let last: unknown;
    for (let round = 1; round <= (opts.maxRounds ?? 3); round++) {
      try {
        const res = await this.request<Order>('POST', 'orders', { body: { ...input, reference }, headers });
        trail.push(`POST /orders ${res.status}${res.headers['idempotent-replayed'] ? ' (replayed)' : ''}`);
        if (res.status === 202) {
          const order = await this.#settled(res, trail, opts.pollTimeoutMs ?? 120_000);
          return { order, outcome: 'accepted', reference, idempotencyKey, trail };
        }
        const outcome: OrderOutcome = res.headers['idempotent-replayed'] ? 'replayed' : round === 1 ? 'created' : 'resent';
        return { order: res.body, outcome, reference, idempotencyKey, trail };
      } catch (e) {
        const uncertain = e instanceof ConnectionError || (e instanceof ReceiptError && (e.status === 504 || e.status === 502));
        trail.push(`POST /orders ${e instanceof ReceiptError ? e.status : 'connection lost'}`);
        if (!uncertain) throw e;
        last = e;
        // The request may have been processed (docs/reliability.md): check before sending it again.
        const found = await this.listOrders({ reference });
        trail.push(`GET /orders?reference=${reference} 200 (${found.length} found)`);
        if (found.length > 0) return { order: found[0]!, outcome: 'reconciled', reference, idempotencyKey, trail };
      }
    }
    throw last;
  }

  /** Polls an accepted order's Location, waiting what each answer's Retry-After says, until it is settled. */
  async #settled(accepted: Answer<Order>, trail: string[], timeoutMs: number): Promise<Order> {
    const location = accepted.headers.location;
    if (!location) throw new Error('202 without Location: nothing to poll');
    const end = this.#o.now() + timeoutMs;
    let wait = accepted.headers['retry-after'];
    for (;;) {
      const delay = parseRetryAfter(wait, this.#o.now()) ?? 1000;
      await this.#o.sleep(Math.min(delay, this.#o.retry.maxDelayMs));
      const res = await this.request<Order>('GET', new URL(location, accepted.url).toString());
      trail.push(`GET ${location} 200 (${res.body.status})`);
      if (res.body.status !== 'pending') return res.body;
      if (this.#o.now() > end) throw new Error(`order ${res.body.id} still pending after ${timeoutMs} ms`);
      wait = res.headers['retry-after'];
    }
  }

  // ---- cart and checkout ----
  getCart = async () => (await this.request<{ items: Array<{ id: number; product_id: number; quantity: number }> }>('GET', 'cart')).body;
  addToCart = async (product_id: number, quantity = 1) => (await this.request<{ id: number }>('POST', 'cart/items', { body: { product_id, quantity } })).body;
  updateCartItem = async (id: number, quantity: number) => (await this.request('PATCH', `cart/items/${id}`, { body: { quantity } })).body;
  removeCartItem = async (id: number) => void (await this.request('DELETE', `cart/items/${id}`));
  checkout = async (payment_token: string, opts: { idempotencyKey?: string; reference?: string } = {}) =>
    (
      await this.request<Order>('POST', 'checkout', {
        body: { payment_token, ...(opts.reference ? { reference: opts.reference } : {}) },
        headers: { 'idempotency-key': opts.idempotencyKey ?? crypto.randomUUID() },
      })
    ).body;

  // ---- users and admin ----
  updateUser = async (id: number, email: string) => (await this.request('PUT', `users/${id}`, { body: { email } })).body;
  updateSettings = async (id: number, settings: Record<string, string | number | boolean | null>) => void (await this.request('PUT', `users/${id}/settings`, { body: settings }));
  adminOrders = async () => (await this.request<Order[]>('GET', 'admin/orders')).body;
  adminReports = async () => (await this.request('GET', 'admin/reports')).body;

  // ---- reports (202) ----
  async generateReport(): Promise<{ jobId: string; location: string; retryAfterS: number }> {
    const res = await this.request<{ job_id: string }>('POST', 'reports/generate');
    return { jobId: res.body.job_id, location: res.headers.location!, retryAfterS: Number(res.headers['retry-after'] ?? 1) };
  }
  reportStatus = async (jobId: string) => (await this.request<{ status: string; result?: string }>('GET', `reports/status/${jobId}`)).body;
  /** Polls the status as Retry-After says until the report is done, then fetches it. */
  async waitForReport(jobId: string, opts: { timeoutMs?: number } = {}): Promise<unknown> {
    const end = this.#o.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const res = await this.request<{ status: string; result?: string }>('GET', `reports/status/${jobId}`);
      if (res.body.status === 'done') return (await this.request('GET', res.body.result!)).body;
      if (res.body.status === 'failed') throw new Error(`report ${jobId} failed`);
      if (this.#o.now() > end) throw new Error(`report ${jobId} not done in time`);
      await this.#o.sleep(Number(res.headers['retry-after'] ?? 1) * 1000);
    }
  }

  // ---- media (206) ----
  async getVideoRange(name: string, start: number, end: number): Promise<{ status: number; contentRange?: string; bytes: number }> {
    const res = await this.request<string>('GET', `videos/${encodeURIComponent(name)}`, { auth: false, headers: { range: `bytes=${start}-${end}` } });
    return { status: res.status, ...(res.headers['content-range'] ? { contentRange: res.headers['content-range'] } : {}), bytes: Number(res.headers['content-length'] ?? 0) };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
