/**
 * Fuzzing from the contract: requests generated (fast-check) from the shop's own OpenAPI document — valid, boundary
 * and mutated bodies, path and query parameters, and headers — sent through the gateway, every answer judged:
 *
 *  1. no 5xx: nothing a client sends may make the shop fail (a 4xx says what was wrong);
 *  2. every 4xx is an RFC 9457 problem (`application/problem+json`, its `status` the answer's);
 *  3. nothing internal in any answer: no stack trace, no SQL, no driver message;
 *  4. the status is one the OpenAPI document lists for that operation (plus what HTTP itself allows anywhere:
 *     304 to a conditional GET, 206/416 to a range, 405 to a method the path lacks).
 *
 * Requests are drawn in seeded batches, so a failure is reproduced by its seed and index.
 */
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { operationsOf, type OpenApiDoc, type Schema } from '../audit/openapi.ts';
import { findInternalDetail } from '../http/leaks.ts';

interface Operation {
  method: string;
  path: string;
  /** Statuses the document lists for it. */
  statuses: Set<number>;
  pathParams: Record<string, Schema>;
  query: Record<string, Schema>;
  body?: Schema;
}

export interface FuzzRequest {
  op: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface FuzzFinding {
  rule: 'no-5xx' | 'problem-body' | 'nothing-internal' | 'documented-status';
  status: number;
  request: FuzzRequest;
  detail: string;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  operations: number;
  findings: FuzzFinding[];
  /** Findings by rule (all of them; `findings` keeps the first few of each). */
  counts: Record<FuzzFinding['rule'], number>;
}

export interface FuzzOptions {
  url: string;
  requests: number;
  seed?: number;
  concurrency?: number;
  /** Bearer tokens to send (a customer's, an admin's); the fuzzer also sends none and garbage. */
  tokens: string[];
  onProgress?: (done: number, total: number) => void;
}

// ---- the document → operations ----

/** The document's operations (read as `receipt audit` reads them: $refs and path-level parameters followed). */
function operations(doc: OpenApiDoc): Operation[] {
  return operationsOf(doc, new Set())
    .filter((op) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method))
    .map((op) => ({
      method: op.method,
      path: op.path,
      statuses: new Set(op.statuses.map(Number)),
      pathParams: Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, p.schema ?? {}])),
      query: Object.fromEntries(op.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema ?? {}])),
      ...(op.body && /json/.test(op.body.mediaType) ? { body: op.body.schema } : {}),
    }));
}

// ---- schema → arbitraries: valid, at the edges, and broken ----

const EDGE_NUMBERS = [0, -1, 1, 100, 101, 2 ** 31, -(2 ** 31), 2 ** 53, 1e308, -1e308, 0.5, 42, 43, 5678];
const EDGE_STRINGS = ['', ' ', 'null', '0', '-1', "' OR 1=1 --", '"; DROP TABLE orders; --', '../../etc/passwd', '%00', '\u0000', 'é🙂', 'x'.repeat(300), 'tok_declined', '<script>'];

function valid(s: Schema): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.anyOf) return fc.oneof(...s.anyOf.map(valid));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'integer':
      return fc.integer({ min: s.minimum ?? -5, max: s.maximum ?? 6000 });
    case 'number':
      return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string':
      return s.pattern ? fc.stringMatching(new RegExp(s.pattern)) : fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) });
    case 'array':
      return fc.array(valid(s.items ?? {}), { maxLength: 4 });
    case 'object': {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      return fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valid(v)])), {
        requiredKeys: Object.keys(props).filter((k) => required.has(k)),
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function edge(s: Schema): fc.Arbitrary<unknown> {
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === 'integer' || type === 'number') return fc.constantFrom(...EDGE_NUMBERS, ...(s.minimum !== undefined ? [s.minimum, s.minimum - 1] : []), ...(s.maximum !== undefined ? [s.maximum, s.maximum + 1] : []));
  if (type === 'string') return fc.constantFrom(...EDGE_STRINGS);
  if (type === 'object') {
    const props = s.properties ?? {};
    return fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, fc.oneof(valid(v), edge(v))])), { requiredKeys: s.required ?? [] });
  }
  return valid(s);
}

function broken(s: Schema): fc.Arbitrary<unknown> {
  const props = Object.keys(s.properties ?? {});
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }), // any JSON at all: the wrong type more often than not
    props.length
      ? fc.record(Object.fromEntries(props.map((k) => [k, fc.oneof(fc.jsonValue({ maxDepth: 1 }), valid(s.properties![k]!))])), { requiredKeys: [] }) // missing or wrong members
      : fc.constant({}),
    fc.tuple(valid(s), fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })).map(([v, k, x]) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v, [`x_${k}`]: x } : v)), // an unknown member
  );
}

const value = (s: Schema) =>
  fc.oneof({ weight: 4, arbitrary: valid(s) }, { weight: 2, arbitrary: edge(s) }, { weight: 2, arbitrary: broken(s) });

/** A path or query value: what the schema wants, or anything a URL can carry. */
const param = (s: Schema) =>
  fc.oneof(
    { weight: 4, arbitrary: valid(s).map(String) },
    { weight: 2, arbitrary: fc.constantFrom('0', '-1', '42', '43', '5678', '999999999999999', '1e3', 'abc', '%00', '%2F..%2F', 'null', 'x'.repeat(200), '1.5', ' 1') },
  );

function requestOf(op: Operation, tokens: string[]): fc.Arbitrary<FuzzRequest> {
  const path = fc.record(Object.fromEntries(Object.entries(op.pathParams).map(([k, v]) => [k, param(v)])) as Record<string, fc.Arbitrary<string>>);
  const query = fc.record(Object.fromEntries(Object.entries(op.query).map(([k, v]) => [k, param(v)])) as Record<string, fc.Arbitrary<string>>, { requiredKeys: [] });
  const auth = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...tokens).map((t) => `Bearer ${t}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic YWxpY2U6YWxpY2UtcGFzcw==', 'Bearer a.b.c', `Bearer ${tokens[0]}x`, 'bearer  ' + tokens[0]) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const bodyText = op.body
    ? fc.oneof(
        { weight: 8, arbitrary: value(op.body).map((v) => JSON.stringify(v)) },
        { weight: 1, arbitrary: fc.constantFrom('{', '[]', 'null', '"x"', '{"a":', 'x'.repeat(70_000), '{"product_id":42,"product_id":43}', '\u00ff\u00fe') },
      )
    : fc.option(fc.constantFrom('{}', 'x'), { nil: undefined, freq: 8 });
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'application/jsonx', 'multipart/form-data') },
  );
  const extra = fc.record(
    {
      'idempotency-key': fc.oneof(fc.uuid(), fc.constantFrom('', ' ', '"quoted"', 'ü', 'k'.repeat(300))),
      'if-none-match': fc.constantFrom('*', '"p42-v1"', 'W/"x"', 'garbage', '"a", "b"'),
      'if-match': fc.constantFrom('*', '"p42-v1"', 'W/"p42-v1"', 'nonsense'),
      range: fc.constantFrom('bytes=0-99', 'bytes=-5', 'bytes=99999999999-', 'bytes=5-1', 'items=0-1', 'bytes=0-1,4-5'),
      prefer: fc.constantFrom('respond-async', 'return=minimal', 'wait=5, respond-async', '=;,'),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml', 'application/problem+json'),
    },
    { requiredKeys: [] },
  );
  return fc.record({ path, query, auth, bodyText, contentType, extra }).map(({ path: p, query: q, auth: a, bodyText: b, contentType: ct, extra: x }) => {
    let url = op.path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(p[k] ?? '1'));
    const qs = new URLSearchParams(q as Record<string, string>).toString();
    if (qs) url += `?${qs}`;
    const headers: Record<string, string> = { ...x };
    if (a !== undefined) headers.authorization = a;
    if (b !== undefined) headers['content-type'] = ct;
    return { op: `${op.method} ${op.path}`, method: op.method, path: url, headers, ...(b !== undefined ? { body: b } : {}) };
  });
}

// ---- judging one answer ----


/** What HTTP allows on any route, documented or not. */
function allowedAnyway(status: number, req: FuzzRequest): boolean {
  if (status === 304) return req.method === 'GET' && req.headers['if-none-match'] !== undefined;
  if (status === 206 || status === 416) return req.headers.range !== undefined;
  return false;
}

export function judge(op: Operation | undefined, req: FuzzRequest, status: number, contentType: string, body: string): FuzzFinding[] {
  const out: FuzzFinding[] = [];
  const add = (rule: FuzzFinding['rule'], detail: string) => out.push({ rule, status, request: req, detail });
  if (status >= 500) add('no-5xx', body.slice(0, 200));
  if (status >= 400 && status < 500 && req.method !== 'HEAD') {
    let problem: { status?: unknown; type?: unknown; title?: unknown } | undefined;
    try {
      problem = JSON.parse(body) as typeof problem;
    } catch {
      /* judged below */
    }
    if (!/^application\/problem\+json/.test(contentType) || problem?.status !== status || typeof problem.type !== 'string' || typeof problem.title !== 'string') {
      add('problem-body', `${contentType}: ${body.slice(0, 120)}`);
    }
  }
  const internal = findInternalDetail(body);
  if (internal) add('nothing-internal', internal);
  if (op && !op.statuses.has(status) && !allowedAnyway(status, req)) add('documented-status', `${status} is not among ${[...op.statuses].join(', ')}`);
  return out;
}

// ---- the run ----

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const seed = o.seed ?? Date.now() % 2 ** 31;
  const base = o.url.replace(/\/$/, '');
  const doc = (await (await request(`${base}/openapi.json`)).body.json()) as Parameters<typeof operations>[0];
  const ops = operations(doc);
  const byName = new Map(ops.map((op) => [`${op.method} ${op.path}`, op]));
  const arb = fc.oneof(...ops.map((op) => requestOf(op, o.tokens)));
  const dispatcher = new Agent({ connections: o.concurrency ?? 16, keepAliveTimeout: 10_000 });
  const statuses: Record<string, number> = {};
  const counts: FuzzReport['counts'] = { 'no-5xx': 0, 'problem-body': 0, 'nothing-internal': 0, 'documented-status': 0 };
  const findings: FuzzFinding[] = [];
  const t0 = Date.now();
  const BATCH = 1000;
  let done = 0;
  try {
    for (let b = 0; b * BATCH < o.requests; b++) {
      const batch = fc.sample(arb, { numRuns: Math.min(BATCH, o.requests - b * BATCH), seed: seed + b });
      let next = 0;
      const worker = async () => {
        while (next < batch.length) {
          const req = batch[next++]!;
          const res = await request(base + req.path, { dispatcher, method: req.method as 'GET', headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
          const body = await res.body.text();
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          for (const f of judge(byName.get(req.op), req, res.statusCode, String(res.headers['content-type'] ?? ''), body)) {
            counts[f.rule]++;
            // The first few of each rule are enough to act on; the counts say how many.
            if (findings.filter((x) => x.rule === f.rule).length < 5) findings.push(f);
          }
          done++;
        }
      };
      await Promise.all(Array.from({ length: o.concurrency ?? 16 }, worker));
      o.onProgress?.(done, o.requests);
    }
  } finally {
    await dispatcher.close();
  }
  return { seed, requests: done, seconds: Math.round((Date.now() - t0) / 100) / 10, statuses, operations: ops.length, findings, counts };
}
