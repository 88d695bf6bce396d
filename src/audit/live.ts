/**
 * The live audit: every operation of an OpenAPI document probed on a running API, one request at a time at a
 * bounded rate, only to the origin given. Per operation: a well-formed request; malformed ones (a body that is not
 * JSON, a value of the wrong type, a rule broken); one without credentials and one with a token that is not valid;
 * on id routes, a missing id, and another user's view of an existing one. Then, from what came back: HEAD beside
 * GET, If-None-Match and If-Match with the ETag it got, a range where it advertised Accept-Ranges, every method
 * an Allow lists, and every redirect followed (same origin) to its end.
 *
 * Safety: a method that is not safe (RFC 9110 §9.2.1) is sent only with `allowWrites`, or under a `testPaths`
 * prefix; what is not sent is listed in the report's `skipped`.
 */
import { randomUUID } from 'node:crypto';
import { judgeExchange, judgeTogether } from './rules.ts';
import { missingValue, operationsOf, ruleViolationBody, sampleValue, wrongTypeBody, type OpenApiDoc, type Operation } from './openapi.ts';
import type { AuditReport, Exchange, Finding, Probe } from './types.ts';
import { send, WireError } from './wire.ts';

export interface LiveOptions {
  /** The API's base URL: every request goes to this origin and under this path. */
  url: string;
  openapi: OpenApiDoc;
  /** Where the document came from (a file or a URL), for the report and SARIF locations. */
  openapiSource: string;
  /** The document's text, to point findings at the line of their path. */
  openapiText?: string;
  /** A bearer token of the user whose view is audited. */
  token?: string;
  /** Another user's token: on id routes, is that user's view of the first user's resource hidden? */
  otherToken?: string;
  /** Requests per second (default 10). */
  rate?: number;
  allowWrites?: boolean;
  /** Path prefixes where writes are allowed without `allowWrites`. */
  testPaths?: string[];
  timeoutMs?: number;
  insecure?: boolean;
  onProgress?: (sent: number, what: string) => void;
  /** Every exchange as it completes (`--verbose`, tests). */
  onExchange?: (ex: Exchange) => void;
  version?: string;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const MAX_HOPS = 10;

export interface PlannedProbe {
  operation: string;
  probe: Probe;
  note?: string;
}

/** What the audit will send before it has any answer (`--dry-run`), and what it will not. */
export function planLive(o: Pick<LiveOptions, 'openapi' | 'allowWrites' | 'testPaths' | 'token' | 'otherToken'>): { probes: PlannedProbe[]; skipped: string[] } {
  const unresolved = new Set<string>();
  return plan(operationsOf(o.openapi, unresolved), unresolved, o);
}

function plan(ops: Operation[], unresolved: Set<string>, o: Pick<LiveOptions, 'allowWrites' | 'testPaths' | 'token' | 'otherToken'>): { probes: PlannedProbe[]; skipped: string[] } {
  const probes: PlannedProbe[] = [];
  const skipped = [...unresolved].map((r) => `$ref ${r}: not inside the document, not followed`);
  for (const op of ops) {
    if (!mayWrite(op.method, op.path, o)) {
      skipped.push(`${op.id}: not safe to send (give --allow-writes, or --test-path for a prefix where writes are harmless)`);
      continue;
    }
    for (const p of probesFor(op, o)) probes.push({ operation: op.id, probe: p });
  }
  for (const path of new Set(ops.map((op) => op.path))) {
    const m = wrongMethodFor(path, ops, o);
    if (m) probes.push({ operation: `${m} ${path}`, probe: 'wrong-method', note: 'then every method its Allow lists' });
    else skipped.push(`${path}: no wrong method is safe to send (every safe one is documented); --allow-writes sends one`);
  }
  return { probes, skipped };
}

function mayWrite(method: string, path: string, o: Pick<LiveOptions, 'allowWrites' | 'testPaths'>): boolean {
  return SAFE.has(method) || !!o.allowWrites || (o.testPaths ?? []).some((p) => path.startsWith(p));
}

function probesFor(op: Operation, o: Pick<LiveOptions, 'token' | 'otherToken'>): Probe[] {
  const out: Probe[] = ['well-formed'];
  if (op.body) out.push('malformed-json');
  if (op.body && wrongTypeBody(op.body.schema)) out.push('wrong-type');
  if (op.body && ruleViolationBody(op.body.schema)) out.push('rule-violation');
  if (op.secured) out.push('no-credentials', 'invalid-token');
  if (op.method === 'GET' && op.parameters.some((p) => p.in === 'path')) {
    out.push('missing');
    if (o.otherToken && op.secured) out.push('other-user', 'other-user-missing');
  }
  return out;
}

/**
 * A method the document does not give the path — nor any other template the same URL matches (`GET
 * /reports/generate` is `GET /reports/{id}` with id "generate"): only then is 405 the right answer.
 */
function wrongMethodFor(path: string, ops: Operation[], o: Pick<LiveOptions, 'allowWrites' | 'testPaths'>): string | undefined {
  const asUrl = path.replace(/\{[^}]+\}/g, 'receipt-audit-x');
  const template = (t: string) => new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`);
  const documented = new Set(ops.filter((op) => op.path === path || template(op.path).test(asUrl)).map((op) => op.method));
  return ['GET', 'DELETE', 'PATCH', 'PUT', 'POST'].find((m) => !documented.has(m) && !(m === 'GET' && documented.has('HEAD')) && mayWrite(m, path, o));
}

export async function auditLive(o: LiveOptions): Promise<AuditReport> {
  const base = new URL(o.url);
  const basePath = base.pathname.replace(/\/$/, '');
  const unresolved = new Set<string>();
  const ops = operationsOf(o.openapi, unresolved);
  const { skipped } = plan(ops, unresolved, o);
  const exchanges: Exchange[] = [];
  const interval = 1000 / Math.max(0.1, o.rate ?? 10);
  let nextAt = 0;
  /** Ids learnt from the answers: a collection's first item, a Location of something created. */
  const known = new Map<string, string>();

  const call = async (probe: Probe, operation: string, method: string, url: string, headers: Record<string, string>, body?: string): Promise<Exchange | undefined> => {
    // The monotonic clock: the wall clock can be stepped (NTP), and a timer may fire a little early, so wait until
    // the slot has truly come.
    for (let wait = nextAt - performance.now(); wait > 0; wait = nextAt - performance.now()) await new Promise((r) => setTimeout(r, Math.ceil(wait)));
    nextAt = Math.max(performance.now(), nextAt) + interval;
    const request: Exchange['request'] = { method, url, headers, ...(body !== undefined ? { body } : {}) };
    o.onProgress?.(exchanges.length + 1, `${operation} (${probe})`);
    let response: Exchange['response'];
    try {
      response = await send(request, { timeoutMs: o.timeoutMs ?? 10_000, insecure: !!o.insecure });
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      skipped.push(`${method} ${url} (${probe}): ${e.message}`);
      return undefined;
    }
    const ex: Exchange = { probe, operation, request, response };
    exchanges.push(ex);
    o.onExchange?.(ex);
    // A limit reached is judged like any answer, then respected (at most 10 s), so the next probe sees the route.
    if (response.status === 429) {
      const s = Number(response.headers['retry-after']);
      nextAt = Date.now() + Math.min(10, Number.isFinite(s) && s > 0 ? s : 1) * 1000;
    }
    return ex;
  };

  const auth = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const sameOrigin = (u: URL) => u.origin === base.origin && (u.pathname === basePath || u.pathname.startsWith(basePath + '/') || basePath === '');

  async function followRedirects(first: Exchange) {
    let at = first;
    const seen = new Set([first.request.url]);
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const s = at.response.status;
      const location = at.response.headers.location;
      if (![301, 302, 303, 307, 308].includes(s) || !location) return;
      let next: URL;
      try {
        next = new URL(location, at.request.url);
      } catch {
        return;
      }
      if (!sameOrigin(next)) {
        skipped.push(`${at.request.url} → ${next.href}: another origin, not followed`);
        return;
      }
      if (seen.has(next.href)) return; // a loop: the rules see it from the exchanges already made
      seen.add(next.href);
      const keep = s === 307 || s === 308;
      const method = keep ? at.request.method : at.request.method === 'HEAD' ? 'HEAD' : 'GET';
      const headers = { ...at.request.headers };
      if (!keep) delete headers['content-type'];
      const ex = await call('redirect-hop', at.operation ?? '', method, next.href, headers, keep ? at.request.body : undefined);
      if (!ex) return;
      at = ex;
    }
  }

  // Collections and creations first: their answers supply the ids the id routes need.
  const ordered = [...ops].sort((a, b) => Number(a.path.includes('{')) - Number(b.path.includes('{')) || a.path.localeCompare(b.path) || order(a.method) - order(b.method));
  for (const op of ordered) {
    if (!mayWrite(op.method, op.path, o)) continue;
    const url = (values: 'known' | 'missing') => buildUrl(base, basePath, op, values === 'missing' ? 'missing' : known);
    // Credentials go only where the document asks for them: a 401 elsewhere is about something else (a password).
    const headersFor = (token: string | undefined, withBody: boolean): Record<string, string> => ({
      accept: 'application/json, application/problem+json;q=0.9, */*;q=0.1',
      ...requiredHeaders(op),
      ...(op.secured ? auth(token) : {}),
      ...(withBody && op.body ? { 'content-type': op.body.mediaType } : {}),
    });
    const goodBody = op.body ? JSON.stringify(op.body.example ?? sampleValue(op.body.schema)) : undefined;

    for (const probe of probesFor(op, o)) {
      let ex: Exchange | undefined;
      const target = url('known');
      switch (probe) {
        case 'well-formed':
          ex = await call(probe, op.id, op.method, target, headersFor(o.token, true), goodBody);
          if (ex) learn(ex, op, known, base, basePath);
          break;
        case 'malformed-json':
          ex = await call(probe, op.id, op.method, target, headersFor(o.token, true), '{"receipt-audit": ');
          break;
        case 'wrong-type':
          ex = await call(probe, op.id, op.method, target, headersFor(o.token, true), JSON.stringify(wrongTypeBody(op.body!.schema)!.body));
          break;
        case 'rule-violation':
          ex = await call(probe, op.id, op.method, target, headersFor(o.token, true), JSON.stringify(ruleViolationBody(op.body!.schema)!.body));
          break;
        case 'no-credentials':
          ex = await call(probe, op.id, op.method, target, headersFor(undefined, true), goodBody);
          break;
        case 'invalid-token':
          ex = await call(probe, op.id, op.method, target, headersFor('receipt-audit.not-a-valid.token', true), goodBody);
          break;
        case 'missing':
          ex = await call(probe, op.id, op.method, url('missing'), headersFor(o.token, false));
          break;
        case 'other-user':
          ex = await call(probe, op.id, op.method, target, headersFor(o.otherToken, false));
          break;
        case 'other-user-missing':
          ex = await call(probe, op.id, op.method, url('missing'), headersFor(o.otherToken, false));
          break;
      }
      if (ex) await followRedirects(ex);
      if (probe !== 'well-formed' || !ex || op.method !== 'GET' || ex.response.status !== 200) continue;
      // What the GET's answer offers, tried.
      const h = headersFor(o.token, false);
      const head = await call('head', op.id, 'HEAD', target, h);
      if (head) await followRedirects(head);
      const etag = ex.response.headers.etag;
      if (etag) {
        await call('if-none-match', op.id, 'GET', target, { ...h, 'if-none-match': etag });
        await call('if-match', op.id, 'GET', target, { ...h, 'if-match': etag });
      }
      if (/\bbytes\b/i.test(ex.response.headers['accept-ranges'] ?? '')) {
        await call('range', op.id, 'GET', target, { ...h, range: 'bytes=0-0' });
        const length = Number(ex.response.headers['content-length'] ?? Buffer.byteLength(ex.response.body));
        await call('range-unsatisfiable', op.id, 'GET', target, { ...h, range: `bytes=${length + 1000}-` });
      }
    }
  }

  for (const path of new Set(ops.map((op) => op.path))) {
    const method = wrongMethodFor(path, ops, o);
    if (!method) continue;
    const someOp = ops.find((op) => op.path === path)!;
    const target = buildUrl(base, basePath, someOp, known);
    const ex = await call('wrong-method', `${method} ${path}`, method, target, { ...auth(o.token), ...(SAFE.has(method) ? {} : { 'content-type': 'application/json' }) }, SAFE.has(method) ? undefined : '{}');
    if (!ex || ex.response.status !== 405 || !ex.response.headers.allow) continue;
    for (const m of ex.response.headers.allow.split(',').map((x) => x.trim().toUpperCase()).filter(Boolean)) {
      if (!mayWrite(m, path, o)) {
        skipped.push(`${m} ${path} (listed in Allow): not safe to send`);
        continue;
      }
      await call('allowed-method', `${m} ${path}`, m, target, { ...auth(o.token), ...requiredHeaders(someOp), ...(SAFE.has(m) ? {} : { 'content-type': 'application/json' }) }, SAFE.has(m) ? undefined : '{}');
    }
  }

  const findings: Finding[] = [...exchanges.flatMap(judgeExchange), ...judgeTogether(exchanges)];
  for (const f of findings) {
    const op = f.exchange?.operation;
    const line = op && o.openapiText ? lineOfPath(o.openapiText, op.split(' ')[1]!) : undefined;
    f.location = { file: o.openapiSource, ...(line ? { line } : {}) };
  }
  return {
    tool: { name: 'receipt audit', version: o.version ?? '0' },
    input: { kind: 'live', source: o.url, openapi: o.openapiSource },
    exchanges: exchanges.length,
    findings,
    skipped,
  };
}

const order = (m: string) => ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].indexOf(m);

function requiredHeaders(op: Operation): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of op.parameters) {
    if (p.in !== 'header' || !p.required) continue;
    // An idempotency key must be fresh for each request, or the second probe would replay the first one's answer.
    out[p.name.toLowerCase()] = /idempotency/i.test(p.name) ? randomUUID() : String(paramValue(p) ?? 'x');
  }
  return out;
}

function paramValue(p: Operation['parameters'][number]): unknown {
  if (p.example !== undefined) return p.example;
  const ex = Object.values(p.examples ?? {})[0];
  if (ex?.value !== undefined) return ex.value;
  return p.schema ? sampleValue(p.schema) : undefined;
}

function hasOwnExample(p: Operation['parameters'][number]): boolean {
  return p.example !== undefined || Object.keys(p.examples ?? {}).length > 0 || p.schema?.example !== undefined || !!p.schema?.examples?.length || p.schema?.enum !== undefined;
}

function buildUrl(base: URL, basePath: string, op: Operation, values: Map<string, string> | 'missing'): string {
  let path = op.path;
  for (const p of op.parameters.filter((x) => x.in === 'path')) {
    let v: unknown;
    if (values === 'missing') v = missingValue(p.schema);
    else v = (hasOwnExample(p) ? paramValue(p) : undefined) ?? values.get(collectionOf(op.path, p.name)) ?? paramValue(p) ?? 1;
    path = path.replace(`{${p.name}}`, encodeURIComponent(String(v)));
  }
  const u = new URL(basePath + path, base.origin);
  for (const p of op.parameters.filter((x) => x.in === 'query' && x.required)) u.searchParams.set(p.name, String(paramValue(p) ?? 'x'));
  return u.href;
}

/** `/orders/{id}/items` → `/orders` for `id`: where a value for the parameter can be learnt. */
function collectionOf(path: string, param: string): string {
  return path.slice(0, path.indexOf(`{${param}}`)).replace(/\/$/, '');
}

/** Ids from an answer: a created resource's Location, or the first item of a collection. */
function learn(ex: Exchange, op: Operation, known: Map<string, string>, base: URL, basePath: string): void {
  if (ex.response.status === 201 && ex.response.headers.location) {
    // The document's paths are below the base URL's path: /api/orders/7 is /orders/7 to it.
    const loc = new URL(ex.response.headers.location, base).pathname.slice(basePath.length);
    const m = new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/([^/]+)$`).exec(loc);
    if (m) known.set(op.path.replace(/\/$/, ''), decodeURIComponent(m[1]!));
    return;
  }
  if (op.method !== 'GET' || ex.response.status !== 200 || known.has(op.path)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(ex.response.body);
  } catch {
    return;
  }
  const list = Array.isArray(parsed) ? parsed : Object.values((parsed ?? {}) as Record<string, unknown>).find(Array.isArray);
  const id = (list as Array<Record<string, unknown>> | undefined)?.[0]?.id;
  if (typeof id === 'string' || typeof id === 'number') known.set(op.path, String(id));
}

/** The line (1-based) where the document names the path, for SARIF and the text report. */
function lineOfPath(text: string, path: string): number | undefined {
  const i = text.search(new RegExp(`["']?${path.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')}["']?\\s*:`));
  return i < 0 ? undefined : text.slice(0, i).split('\n').length;
}
