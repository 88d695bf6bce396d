/**
 * The cases docs/status-codes.md tells (the checkout case by case, the 504 uncertainty, the redirect chain, and one
 * example of several codes), played through the gateway with the SDK and a raw client, faults injected through the
 * control plane. Each scenario records its exchanges and a verdict, and names the section of that page it shows.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { request } from 'undici';
import { ReceiptClient, ReceiptError } from '../client/index.ts';
import { reasonPhrase } from '../http/index.ts';
import { Recorder, type Exchange } from './recorder.ts';
import { cookieHeader, signInAtProvider, storeCookies, type Jar } from '../idp/browser.ts';
// The one place a token's shape is written: to forge an expired JWT as the shop would have signed it.
import { signAccessToken } from '../shop/auth/tokens.ts';

export interface Target {
  /** The gateway's HTTP listener. */
  url: string;
  httpsUrl: string;
  controlUrl: string;
  controlToken: string;
  /** The JWT secret, to make an expired token (one issued two hours ago); without it that step is skipped. */
  jwtSecret?: string;
  /** The gateway's idle timeout: the 504 scenario makes the payment slower than this. */
  idleTimeoutMs: number;
}

export interface ScenarioResult {
  name: string;
  /** The section of docs/status-codes.md the scenario shows: a heading, or the status a line there starts with. */
  section: string;
  verdict: 'pass' | 'fail' | 'skipped';
  note?: string;
  exchanges: Exchange[];
}

interface Ctx {
  t: Target;
  rec: Recorder;
  client: (user: 'alice' | 'bob' | 'admin') => Promise<ReceiptClient>;
  raw: (
    method: string,
    path: string,
    opts?: { body?: unknown; headers?: Record<string, string>; base?: string },
  ) => Promise<{ status: number; headers: Record<string, string>; body: string; setCookie: string[] }>;
  faults: (doc: Record<string, unknown> | null) => Promise<void>;
  /** A recorded call to the control plane, with its token. */
  control: (method: string, path: string, body?: unknown) => ReturnType<Ctx['raw']>;
  note: (s: string) => void;
}

type Scenario = {
  name: string;
  section: string;
  /** Why the scenario may skip itself (it returns 'skipped' when the system it plays against cannot show it). */
  skipNote?: string;
  run: (c: Ctx) => Promise<void | 'skipped'>;
};

const input = { product_id: 42, quantity: 2, payment_token: 'tok_abc' };

export const SCENARIOS: Scenario[] = [
  {
    name: 'HAPPY PATH',
    section: 'The checkout, case by case',
    async run({ client, raw }) {
      const alice = await client('alice');
      const placed = await alice.createOrder(input);
      assert.equal(placed.outcome, 'created');
      const read = await raw('GET', `/orders/${placed.order.id}`, { headers: { authorization: `Bearer ${alice.accessToken}` } });
      assert.equal(read.status, 200);
    },
  },
  {
    name: 'AUTHENTICATION FAILURE (expired JWT → refresh → retry)',
    section: 'The checkout, case by case',
    async run({ t, client, raw, note }) {
      if (!t.jwtSecret) return 'skipped';
      // A token issued two hours ago that expired 15 minutes later, as a client that slept would still hold.
      const now = Math.floor(Date.now() / 1000);
      const expired = await signAccessToken(t.jwtSecret, { id: 1, role: 'customer' }, { issuedAt: now - 7200, expiresAt: now - 6300 });
      const res = await raw('POST', '/orders', { body: input, headers: { authorization: `Bearer ${expired}` } });
      assert.equal(res.status, 401);
      assert.match(res.headers['www-authenticate'] ?? '', /error="invalid_token", error_description="Token expired"/);
      note('The SDK, holding the expired token, refreshes once and retries:');
      const alice = await client('alice');
      const pair = await alice.signIn();
      alice.useTokens({ ...pair, access_token: expired });
      const placed = await alice.createOrder(input);
      assert.equal(placed.outcome, 'created');
    },
  },
  {
    name: 'AUTHORIZATION FAILURE',
    section: 'The checkout, case by case',
    async run({ client }) {
      const alice = await client('alice');
      await assert.rejects(alice.adminOrders(), (e: unknown) => e instanceof ReceiptError && e.status === 403 && e.problem?.required_role === 'admin');
    },
  },
  {
    name: 'VALIDATION FAILURE',
    section: 'The checkout, case by case',
    async run({ client }) {
      const alice = await client('alice');
      await assert.rejects(alice.createOrder({ product_id: 42, quantity: -1, payment_token: '' }), (e: unknown) => {
        assert.ok(e instanceof ReceiptError && e.status === 422);
        assert.deepEqual((e.problem!.errors as Array<{ field: string }>).map((x) => x.field), ['quantity', 'payment_token']);
        return true;
      });
    },
  },
  {
    name: "NOT FOUND (and someone else's order)",
    section: 'The checkout, case by case',
    async run({ client }) {
      const alice = await client('alice');
      const bob = await client('bob');
      await assert.rejects(bob.getOrder(99999), (e: unknown) => e instanceof ReceiptError && e.status === 404 && e.problem?.order_id === 99999);
      const mine = (await alice.createOrder({ ...input, quantity: 1 })).order;
      await assert.rejects(bob.getOrder(mine.id), (e: unknown) => e instanceof ReceiptError && e.status === 404);
    },
  },
  {
    name: 'CONFLICT',
    section: 'The checkout, case by case',
    async run({ client }) {
      const alice = await client('alice');
      for (const item of (await alice.getCart()).items) await alice.removeCartItem(item.id);
      const first = await alice.addToCart(42);
      await assert.rejects(alice.addToCart(42), (e: unknown) => e instanceof ReceiptError && e.status === 409 && e.problem?.existing_item_id === first.id);
      await alice.removeCartItem(first.id);
    },
  },
  {
    name: 'RATE LIMIT (checkout)',
    section: 'The checkout, case by case',
    async run({ client, raw, note }) {
      const bob = await client('bob');
      const auth = { authorization: `Bearer ${bob.accessToken}` };
      let limited: { status: number; headers: Record<string, string> } | undefined;
      let attempts = 0;
      for (; attempts < 15 && !limited; attempts++) {
        await raw('POST', '/cart/items', { body: { product_id: 43 }, headers: auth });
        const res = await raw('POST', '/checkout', { body: { payment_token: 'tok_abc' }, headers: auth });
        if (res.status === 429) limited = res;
        else assert.equal(res.status, 201);
      }
      assert.ok(limited, 'a 429 within 15 attempts');
      assert.match(limited.headers['retry-after'] ?? '', /^\d+$/);
      assert.ok(limited.headers['x-ratelimit-reset']);
      note(`the ${attempts}th attempt in the minute was refused (limit: ${limited.headers['x-ratelimit-limit']}); the exchanges before it are left out`);
    },
  },
  {
    name: 'SERVER ERROR: 503 (DB connection pool exhausted) vs 500',
    section: 'The checkout, case by case',
    async run({ client, faults, note }) {
      const alice = await client('alice');
      await alice.listOrders(); // signed in before the database goes away
      await faults({ db_pool_exhausted: true });
      try {
        // A POST without an Idempotency-Key: the SDK does not retry it, so the 503 shows.
        await assert.rejects(alice.request('POST', 'orders', { body: { ...input, reference: crypto.randomUUID() } }), (e: unknown) => {
          assert.ok(e instanceof ReceiptError && e.status === 503);
          assert.match(e.retryAfter ?? '', /^\d+$/);
          return true;
        });
      } finally {
        await faults(null);
      }
      note('vs. 500: a bug — no Retry-After:');
      await faults({ throw_on: 'GET /orders' });
      try {
        await assert.rejects(alice.listOrders(), (e: unknown) => e instanceof ReceiptError && e.status === 500 && e.retryAfter === undefined);
      } finally {
        await faults(null);
      }
    },
  },
  {
    name: 'GATEWAY TIMEOUT and the 504 uncertainty problem',
    section: 'The 504 uncertainty',
    async run({ t, client, faults, note }) {
      const alice = await client('alice');
      await alice.listOrders();
      await faults({ payment_latency_ms: t.idleTimeoutMs + 1500 });
      let placed;
      try {
        placed = await alice.createOrder({ ...input, quantity: 1 });
      } finally {
        await faults(null);
      }
      assert.equal(placed.outcome, 'reconciled', `outcome ${placed.outcome}`);
      note(`outcome: ${placed.outcome} — the order existed, so it was not sent again (${placed.trail.join(' → ')})`);
      // The shop finishes the payment after the gateway gave up: the order turns "processing", charged once.
      for (let i = 0; i < 40; i++) {
        const [o] = await alice.listOrders({ reference: placed.reference });
        if (o?.status === 'processing') {
          assert.ok(o.charge_id);
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('the order never completed');
    },
  },
  {
    name: 'ASYNC CHECKOUT: the 504 avoided (Prefer: respond-async)',
    section: 'The 504 uncertainty',
    async run({ t, client, faults, note }) {
      const alice = await client('alice');
      await alice.listOrders();
      // The same slow payment that made the 504 above: now the shop answers at once and its worker waits for it.
      await faults({ payment_latency_ms: t.idleTimeoutMs + 1500 });
      try {
        const placed = await alice.createOrder({ ...input, quantity: 1 }, { async: true });
        assert.equal(placed.outcome, 'accepted');
        assert.equal(placed.order.status, 'processing');
        assert.ok(placed.order.charge_id);
        note(`202 at once, then polled as Retry-After said until paid (${placed.trail.length - 1} polls); no 504, nothing to reconcile`);
      } finally {
        await faults(null);
      }
    },
  },
  {
    name: 'CIRCUIT BREAKER OPEN → 503 + Retry-After → the SDK retries',
    section: '503 Service Unavailable',
    async run({ t, rec, client, raw, control, faults, note }) {
      const alice = await client('alice');
      const auth = { authorization: `Bearer ${alice.accessToken}` };
      await faults({ payment_failure_rate: 1 });
      try {
        // Every target keeps its own breaker; each opens after its PAYMENT_BREAKER_FAILURES consecutive failures.
        let sent = 0;
        for (; sent < 40; sent++) {
          await raw('POST', '/orders', { body: { ...input, quantity: 1, reference: crypto.randomUUID() }, headers: auth });
          const doc = await control('GET', '/faults');
          const breakers = Object.values((JSON.parse(doc.body) as { payment_breaker?: Record<string, { state: string }> }).payment_breaker ?? {});
          if (breakers.length > 0 && breakers.every((b) => b.state === 'open')) break;
        }
        rec.take(); // the transcript keeps what follows
        note(`${sent + 1} orders met the failing provider (503 each) before every target's breaker was open; the control plane's GET /faults shows them:`);
        assert.match((await control('GET', '/faults')).body, /"state":"open"/);
        const refused = await raw('POST', '/orders', { body: { ...input, quantity: 1, reference: crypto.randomUUID() }, headers: auth });
        assert.equal(refused.status, 503);
        assert.match(refused.headers['retry-after'] ?? '', /^\d+$/);
      } finally {
        await faults(null);
      }
      note('The provider is back. The SDK, told 503 + Retry-After, waits exactly that and sends the same request again (same Idempotency-Key):');
      const patient = new ReceiptClient({ baseUrl: t.url, dispatcher: rec.dispatcher, retry: { limit: 4, maxDelayMs: 15_000 } });
      patient.useTokens((await alice.signIn()));
      const placed = await patient.createOrder({ ...input, quantity: 1 });
      assert.equal(placed.order.status, 'processing');
    },
  },
  {
    name: 'DEPLOYMENT IN PROGRESS, done right (rolling: no 503)',
    section: 'What the load balancer answers itself: 502, 503, 504',
    async run({ t, control, note }) {
      const started = await control('POST', '/deploy', { version: 'v2' });
      assert.equal(started.status, 202);
      const location = started.headers.location!;
      // Shoppers keep shopping while every target is replaced; none of them may notice.
      let sent = 0;
      const failed: number[] = [];
      for (;;) {
        // Polled unrecorded: the transcript shows the deployment's start and its end.
        const poll = await request(t.controlUrl + location, { headers: { authorization: `Bearer ${t.controlToken}` } });
        const d = (await poll.body.json()) as { status: string; events: Array<{ event: string }> };
        if (d.status !== 'in_progress') break;
        const res = await request(t.url + '/products/42');
        await res.body.dump();
        sent++;
        if (res.statusCode >= 500) failed.push(res.statusCode);
      }
      const done = await control('GET', location);
      const d = JSON.parse(done.body) as { status: string; events: Array<{ event: string }> };
      assert.equal(d.status, 'succeeded');
      assert.deepEqual(failed, [], `5xx during the deployment: ${failed.join(' ')}`);
      note(`${sent} requests during the deployment, none answered 5xx. Its steps: ${d.events.map((e) => e.event).join(' · ')}`);
    },
  },
  {
    name: '202 Accepted (a report, polled)',
    section: '202 Accepted',
    async run({ client }) {
      const admin = await client('admin');
      const job = await admin.generateReport();
      assert.match(job.location, /^\/reports\/status\//);
      const report = (await admin.waitForReport(job.jobId, { timeoutMs: 30_000 })) as { rows: unknown[] };
      assert.ok(Array.isArray(report.rows));
    },
  },
  {
    name: '206 Partial Content',
    section: '206 Partial Content',
    async run({ raw }) {
      const res = await raw('GET', '/videos/movie.mp4', { headers: { range: 'bytes=0-1048575' } });
      assert.equal(res.status, 206);
      assert.equal(res.headers['content-range'], 'bytes 0-1048575/52428800');
      assert.equal(res.headers['content-length'], '1048576');
    },
  },
  {
    name: '304 Not Modified',
    section: '304 Not Modified',
    async run({ raw }) {
      const first = await raw('GET', '/products/42');
      const again = await raw('GET', '/products/42', { headers: { 'if-none-match': first.headers.etag! } });
      assert.equal(again.status, 304);
    },
  },
  {
    name: '405 Method Not Allowed',
    section: '405 Method Not Allowed',
    async run({ raw }) {
      const res = await raw('DELETE', '/products');
      assert.equal(res.status, 405);
      assert.equal(res.headers.allow, 'GET, HEAD, POST, OPTIONS');
    },
  },
  {
    name: '410 Gone',
    section: '410 Gone',
    async run({ client, raw }) {
      const admin = await client('admin');
      const p = await admin.createProduct({ name: 'Old model', price_cents: 100, stock: 1 });
      await admin.deleteProduct(p.id);
      assert.equal((await raw('GET', `/products/${p.id}`)).status, 410);
    },
  },
  {
    name: '301 and 308',
    section: '3xx',
    async run({ raw }) {
      const legacy = await raw('GET', '/legacy/products/42');
      assert.equal(legacy.status, 301);
      assert.equal(legacy.headers.location, '/products/42');
      const v1 = await raw('POST', '/v1/orders', { body: input });
      assert.equal(v1.status, 308);
      assert.equal(v1.headers.location, '/orders');
    },
  },
  {
    name: 'SIGN-IN AT THE LOAD BALANCER (302 to the provider, 401 on deny, 403 from the app)',
    section: '401 and 403 at the load balancer',
    skipNote: 'needs the default gateway of receipt start (sign-in in front of /console)',
    async run({ t, raw, note }) {
      const https = { base: t.httpsUrl };
      // A script's call without a session: the rule says deny, so the load balancer answers 401 itself.
      const denied = await raw('GET', '/console/reports', https);
      // A gateway configuration of your own may put no sign-in in front of /console: then the shop answers its own
      // 401, with its Bearer challenge, and there is nothing of the load balancer's to show.
      if (/realm="receipt"/.test(denied.headers['www-authenticate'] ?? '')) return 'skipped';
      assert.equal(denied.status, 401);
      /** A browser's whole sign-in from /console: the redirect, the provider (not shown), the callback, the cookie. */
      const signIn = async (username: string) => {
        // The browser's cookies for the load balancer's site: the sign-in's nonce, then the session's shards.
        const jar: Jar = new Map();
        const first = await raw('GET', '/console', https);
        assert.equal(first.status, 302);
        storeCookies(jar, first.setCookie);
        const authorize = new URL(first.headers.location!);
        for (const p of ['client_id', 'redirect_uri', 'response_type', 'scope', 'state']) assert.ok(authorize.searchParams.get(p), `the redirect to the provider has ${p}`);
        assert.equal(authorize.searchParams.get('redirect_uri'), `${t.httpsUrl}/oauth2/idpresponse`);
        const callback = await signInAtProvider(first.headers.location!, { username, password: `${username}-pass` }, (u) => u.startsWith(`${t.httpsUrl}/oauth2/idpresponse`));
        note(`${username} signs in at the provider's own pages (not shown), which send the browser back to the load balancer:`);
        const back = await raw('GET', callback.slice(t.httpsUrl.length), { ...https, headers: { cookie: cookieHeader(jar) } });
        assert.equal(back.status, 302);
        assert.equal(back.headers.location, `${t.httpsUrl}/console`);
        storeCookies(jar, back.setCookie);
        assert.ok(jar.has('AWSELBAuthSessionCookie-0'), 'the session cookie is set');
        return { cookie: cookieHeader(jar) };
      };
      const admin = await signIn('admin');
      const page = await raw('GET', '/console', { ...https, headers: admin });
      assert.equal(page.status, 200);
      assert.match(page.body, /Signed in as <b>admin<\/b> \(admin\), by the load balancer/);
      assert.equal((await raw('GET', '/console/reports', { ...https, headers: admin })).status, 200);
      // Signed in is not allowed: the app reads the role and answers 403.
      const alice = await signIn('alice');
      const refused = await raw('GET', '/console', { ...https, headers: alice });
      assert.equal(refused.status, 403);
      assert.equal(JSON.parse(refused.body).required_role, 'admin');
    },
  },
  {
    name: 'REDIRECT CHAIN http → https → www',
    section: 'The redirect chain',
    async run({ t, raw }) {
      const httpsPort = new URL(t.httpsUrl).port;
      const hop1 = await raw('GET', '/products', { headers: { host: 'shop.localhost' } });
      assert.equal(hop1.status, 301);
      assert.equal(hop1.headers.location, `https://shop.localhost:${httpsPort}/products`);
      const hop2 = await raw('GET', '/products', { base: t.httpsUrl, headers: { host: `shop.localhost:${httpsPort}` } });
      assert.equal(hop2.status, 301);
      assert.equal(hop2.headers.location, `https://www.shop.localhost:${httpsPort}/products`);
      const done = await raw('GET', '/products', { base: t.httpsUrl, headers: { host: `www.shop.localhost:${httpsPort}` } });
      assert.equal(done.status, 200);
    },
  },
];

export async function playScenarios(t: Target, onProgress: (i: number, n: number, name: string) => void = () => {}): Promise<ScenarioResult[]> {
  const rec = new Recorder({ insecure: true });
  const clients = new Map<string, ReceiptClient>();
  const notes: string[] = [];
  const ctx: Ctx = {
    t,
    rec,
    note: (s) => notes.push(s),
    async client(user) {
      let c = clients.get(user);
      if (!c) {
        c = new ReceiptClient({ baseUrl: t.url, credentials: { username: user, password: `${user}-pass` }, dispatcher: rec.dispatcher, retry: { limit: 1, maxDelayMs: 2000 } });
        await c.signIn();
        clients.set(user, c);
      }
      return c;
    },
    async raw(method, path, opts = {}) {
      const res = await request((opts.base ?? t.url) + path, {
        method: method as 'GET',
        dispatcher: rec.dispatcher,
        headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
      const body = await res.body.text();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      // Set-Cookie lines stay apart: a cookie's Expires has a comma of its own (RFC 6265 §3).
      return { status: res.statusCode, headers, body, setCookie: ([] as string[]).concat(res.headers['set-cookie'] ?? []) };
    },
    control(method, path, body) {
      return ctx.raw(method, path, { base: t.controlUrl, headers: { authorization: `Bearer ${t.controlToken}` }, ...(body !== undefined ? { body } : {}) });
    },
    async faults(doc) {
      const res = await request(`${t.controlUrl}/faults`, {
        method: doc ? 'PUT' : 'DELETE',
        headers: { authorization: `Bearer ${t.controlToken}`, ...(doc ? { 'content-type': 'application/json' } : {}) },
        ...(doc ? { body: JSON.stringify(doc) } : {}),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`control plane answered ${res.statusCode}`);
      // The control plane answers once every living process follows the document (its not_yet_applied_by otherwise).
      const behind = text ? (JSON.parse(text) as { not_yet_applied_by?: string[] }).not_yet_applied_by : undefined;
      if (behind?.length) throw new Error(`the faults were not yet applied by ${behind.join(', ')}`);
    },
  };
  const results: ScenarioResult[] = [];
  for (const [i, s] of SCENARIOS.entries()) {
    onProgress(i + 1, SCENARIOS.length, s.name);
    for (const c of clients.values()) await c.signIn(); // each scenario starts from fresh tokens
    rec.take();
    notes.length = 0;
    let verdict: ScenarioResult['verdict'] = 'pass';
    let note: string | undefined;
    try {
      if ((await s.run(ctx)) === 'skipped') {
        verdict = 'skipped';
        note = s.skipNote ?? 'needs the JWT secret (--data-dir) to make an expired token';
      }
    } catch (e) {
      verdict = 'fail';
      note = (e as Error).message.split('\n')[0];
    }
    const exchanges = rec.take().filter((x) => !x.path.startsWith('/auth/token') || s.name.startsWith('AUTHENTICATION'));
    const kept = s.name.startsWith('RATE LIMIT') ? exchanges.slice(-3) : exchanges;
    results.push({ name: s.name, section: s.section, verdict, ...(note || notes.length ? { note: [...notes, note].filter(Boolean).join(' ') } : {}), exchanges: kept });
  }
  return results;
}

// ---- the transcript: each exchange as request, status, the headers that matter, a body excerpt ----

/** The headers that matter in a transcript, spelled as the RFCs spell them. */
const SHOWN: Record<string, string> = {
  location: 'Location',
  'www-authenticate': 'WWW-Authenticate',
  'retry-after': 'Retry-After',
  allow: 'Allow',
  etag: 'ETag',
  'content-range': 'Content-Range',
  'idempotent-replayed': 'Idempotent-Replayed',
  'preference-applied': 'Preference-Applied',
  server: 'Server',
  'set-cookie': 'Set-Cookie',
};
/** Shown on the 429 only: every answer on a limited route carries them, and the 429 is where they matter. */
const ON_429: Record<string, string> = { 'x-ratelimit-limit': 'X-RateLimit-Limit', 'x-ratelimit-remaining': 'X-RateLimit-Remaining', 'x-ratelimit-reset': 'X-RateLimit-Reset', ratelimit: 'RateLimit' };
function excerpt(s: string, n = 160): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n) + '…' : one;
}

export function formatExchange(x: Exchange): string {
  const lines = [`${x.method} ${x.path}${x.requestBody ? `  ${excerpt(x.requestBody, 100)}` : ''}`];
  for (const h of ['authorization', 'if-none-match', 'range', 'idempotency-key', 'host']) {
    if (x.requestHeaders[h]) lines.push(`  ${h}: ${h === 'authorization' ? x.requestHeaders[h]!.slice(0, 24) + '…' : x.requestHeaders[h]}`);
  }
  if (x.error) {
    lines.push(`→ (no answer: ${x.error})`);
    return lines.join('\n');
  }
  lines.push(`→ ${x.status} ${reasonPhrase(x.status!)}`);
  for (const [h, name] of Object.entries({ ...SHOWN, ...(x.status === 429 ? ON_429 : {}) })) if (x.headers[h]) lines.push(`  ${name}: ${excerpt(x.headers[h], 120)}`);
  const type = x.headers['content-type'] ?? '';
  if (x.body && /json|html|text/.test(type)) lines.push(`  ${excerpt(x.body)}`);
  return lines.join('\n');
}

export function formatResult(r: ScenarioResult): string {
  const mark = r.verdict === 'pass' ? '✔ pass' : r.verdict === 'skipped' ? '– skipped' : '✖ FAIL';
  return [`── ${r.name} (status-codes.md, "${r.section}") ──`, ...r.exchanges.map(formatExchange), ...(r.note ? [`# ${r.note}`] : []), mark, ''].join('\n');
}

export function formatMarkdown(results: ScenarioResult[], when: Date): string {
  const passed = results.filter((r) => r.verdict === 'pass').length;
  return [
    '# Scenarios — the transcript',
    '',
    `Generated by \`npx receipt scenarios --write docs/scenarios.md\` on ${when.toISOString().slice(0, 10)}; not written by hand.`,
    'Each case [status-codes.md](status-codes.md) tells, played through the gateway; the section each one shows is named',
    `beside it. Each exchange: request, status, the headers that matter, a body excerpt. ${passed} of ${results.length} passed.`,
    '',
    ...results.flatMap((r) => [`## ${r.name}`, '', '```', formatResult(r).trimEnd(), '```', '']),
  ].join('\n');
}
