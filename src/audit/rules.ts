/**
 * Every rule `receipt audit` applies, in one place: its id, how bad breaking it is, where the rule comes from, and
 * how to fix it — then the checks. docs/audit.md describes each with an exchange that breaks it; a test keeps the
 * two in step.
 *
 * Severity follows the source's strength: what the RFC says a server MUST do, or what a client cannot do without, is
 * an `error`; a SHOULD, or a choice that costs clients or leaks, a `warning`; advice, a `note`. Sources cite RFC
 * sections, AWS's pages, and the sections of docs/status-codes.md (by heading, or by the status a line there starts
 * with), which retells the lesson in Receipt's own words; test/unit/docs-truth.test.ts checks each cited section exists.
 */
import { findInternalDetail } from '../http/leaks.ts';
import { parseEtag } from '../http/etag.ts';
import { parseBearerChallenge } from '../http/www-authenticate.ts';
import type { Exchange, Finding, Severity } from './types.ts';

export interface Rule {
  severity: Severity;
  title: string;
  source: string;
  fix: string;
}

export const RULES = {
  'created-without-location': {
    severity: 'error',
    title: '201 Created without Location',
    source: 'RFC 9110 §15.3.2; docs/status-codes.md, "201 Created" (Location says where the new resource is)',
    fix: 'Send `Location:` with the URL of the resource the request created.',
  },
  'accepted-without-monitor': {
    severity: 'warning',
    title: '202 Accepted with no way to follow the work',
    source: 'RFC 9110 §15.3.3; docs/status-codes.md, "202 Accepted" (Location: where to poll)',
    fix: 'Send `Location:` (or `Content-Location:`) pointing at a status resource the client can poll, and `Retry-After:`.',
  },
  'body-on-bodyless-response': {
    severity: 'error',
    title: '204 or 304 (or an answer to HEAD) carrying a body',
    source: 'RFC 9110 §15.3.5, §15.4.5, §9.3.2; RFC 9112 §6.3',
    fix: 'Send no content after the header section; a client reads those bytes as the start of the next response.',
  },
  'partial-without-content-range': {
    severity: 'error',
    title: '206 Partial Content without Content-Range',
    source: 'RFC 9110 §15.3.7',
    fix: 'A single-part 206 must say which bytes it holds: `Content-Range: bytes first-last/length`.',
  },
  'unsatisfiable-without-length': {
    severity: 'warning',
    title: '416 without `Content-Range: bytes */length`',
    source: 'RFC 9110 §15.5.17, §14.4',
    fix: 'Send `Content-Range: bytes */<current length>` so the client can ask for a range that exists.',
  },
  'redirect-without-location': {
    severity: 'error',
    title: 'A redirect without Location',
    source: 'RFC 9110 §15.4 (301, 302, 303, 307, 308); docs/status-codes.md, "3xx"',
    fix: 'Send `Location:` with the URL to follow, or answer with a status that is not a redirect.',
  },
  'redirect-chain-too-long': {
    severity: 'warning',
    title: 'More than five redirects in a row',
    source: 'docs/status-codes.md, "The redirect chain" (every hop is a round trip; crawlers and clients give up after a few)',
    fix: 'Point the first redirect straight at the final URL.',
  },
  'redirect-loop': {
    severity: 'error',
    title: 'A redirect chain that comes back to a URL it already visited',
    source: 'RFC 9110 §15.4 (a client should detect and stop infinite redirection)',
    fix: 'Make one of the redirects point at a URL that answers.',
  },
  'redirect-changes-method': {
    severity: 'warning',
    title: '301/302 answering a request that is not GET or HEAD',
    source: 'RFC 9110 §15.4.2, §15.4.3 (a client may turn POST into GET), §15.4.8, §15.4.9 (307 and 308 keep it); docs/status-codes.md, "The redirect chain"',
    fix: 'Use 307 (temporary) or 308 (permanent): they keep the method and the body.',
  },
  'unauthorized-without-challenge': {
    severity: 'error',
    title: '401 without WWW-Authenticate',
    source: 'RFC 9110 §15.5.2, §11.6.1 (a 401 MUST send a challenge); docs/status-codes.md, "401 Unauthorized"',
    fix: 'Send `WWW-Authenticate: Bearer realm="…"` (or the scheme you use) with every 401.',
  },
  'bearer-challenge-without-error': {
    severity: 'warning',
    title: 'A Bearer challenge to a request that sent a token, without `error=`',
    source: 'RFC 6750 §3.1',
    fix: 'Say why the token was refused: `WWW-Authenticate: Bearer error="invalid_token", error_description="…"`.',
  },
  'forbidden-reveals-existence': {
    severity: 'warning',
    title: "403 on another user's resource where a missing one answers 404",
    source: 'RFC 9110 §15.5.5 (a server may answer 404 to hide that a resource exists), §15.5.4; docs/status-codes.md, "The order of the checks" (404, never 403, for another user\'s resource)',
    fix: 'Answer 404 for a resource the caller may not see, the same 404 as for one that does not exist.',
  },
  'not-found-shapes-differ': {
    severity: 'warning',
    title: "The 404 for another user's resource differs from the 404 for a missing one",
    source: 'RFC 9110 §15.5.5; docs/status-codes.md, "404 Not Found" (a hidden resource must look absent)',
    fix: 'Build both answers in one place, from the same problem type and title.',
  },
  'method-not-allowed-without-allow': {
    severity: 'error',
    title: '405 without Allow',
    source: 'RFC 9110 §15.5.6 (MUST send Allow); docs/status-codes.md, "405 Method Not Allowed"',
    fix: 'Send `Allow:` listing the methods the resource supports.',
  },
  'allow-lies': {
    severity: 'error',
    title: 'A method listed in Allow is answered 405 or 501',
    source: 'RFC 9110 §10.2.1',
    fix: 'Build Allow from the routes that really exist for the path.',
  },
  'error-without-details': {
    severity: 'error',
    title: '400, 409 or 422 without a machine-readable body',
    source: 'RFC 9457; docs/status-codes.md, "400 Bad Request", "409 Conflict", "422 Unprocessable Content" (each names what is wrong)',
    fix: 'Send a JSON body naming what is wrong (which field, which rule), best as application/problem+json.',
  },
  'validation-status-swapped': {
    severity: 'warning',
    title: '400 and 422 used the wrong way round',
    source: 'RFC 9110 §15.5.1, §15.5.21; docs/status-codes.md, "The order of the checks" (400: cannot be read, or a value of the wrong type; 422: read, but a rule fails)',
    fix: 'Answer 400 when the body does not parse or a value has the wrong type, 422 when a well-typed value breaks a rule.',
  },
  'retry-after-missing': {
    severity: 'warning',
    title: '429 or 503 without Retry-After',
    source: 'RFC 6585 §4, RFC 9110 §15.6.4 and §10.2.3; docs/status-codes.md, "429 Too Many Requests", "503 Service Unavailable"',
    fix: 'Say when to come back: `Retry-After: <seconds>`; clients and SDKs wait that long instead of guessing.',
  },
  'internal-error-with-retry-after': {
    severity: 'warning',
    title: '500 with Retry-After',
    source: 'RFC 9110 §10.2.3 (Retry-After is for 503 and redirects); docs/status-codes.md, "500 Internal Server Error" (a bug, not a lack of capacity: waiting will not fix it)',
    fix: 'A 500 is a bug: leave Retry-After to 503 and 429, which are about capacity.',
  },
  'internal-details-leaked': {
    severity: 'error',
    title: 'A stack trace, SQL or an internal message in an error body',
    source: 'RFC 9457 §5 (security considerations); docs/status-codes.md, "500 Internal Server Error" (no detail, no stack)',
    fix: 'Log the detail with a request id; answer a generic problem that carries only that id.',
  },
  'server-error-on-bad-input': {
    severity: 'error',
    title: 'A 5xx answer to malformed input',
    source: 'RFC 9110 §15.5 (the client\'s error is a 4xx); docs/status-codes.md, "The first digit says who is responsible", "The order of the checks" (parse → 400)',
    fix: 'Validate before using the input: a body that does not parse, or a value of the wrong type, is a 400.',
  },
  'error-not-problem-json': {
    severity: 'note',
    title: 'An error body that is not application/problem+json',
    source: 'RFC 9457 §3',
    fix: 'Use the standard shape: `type`, `title`, `status`, `detail`, `instance`, and your own members.',
  },
  'rate-limit-headers-disagree': {
    severity: 'warning',
    title: 'Rate-limit fields that contradict each other',
    source: 'draft-ietf-httpapi-ratelimit-headers; docs/status-codes.md, "429 Too Many Requests" (X-RateLimit-*)',
    fix: 'Compute every rate-limit field from one state: remaining ≤ limit, 0 on a 429, the same reset everywhere.',
  },
  'head-differs-from-get': {
    severity: 'error',
    title: 'HEAD answered differently from GET',
    source: 'RFC 9110 §9.3.2 (the same header fields as GET, without the content)',
    fix: 'Serve HEAD from the GET handler (most frameworks do) and drop only the body.',
  },
  'etag-misuse': {
    severity: 'error',
    title: 'Strong and weak entity tags misused',
    source: 'RFC 9110 §8.8.3, §13.1.1 (If-Match compares strongly), §15.3.7.3 (ranges need a strong validator)',
    fix: 'Use a strong ETag for bytes you serve in ranges; compare If-Match strongly (a weak tag never matches).',
  },
  'alb-target-5xx': {
    severity: 'error',
    title: 'The target answered 5xx (the application’s fault, not the load balancer’s)',
    source: 'AWS: Troubleshoot your Application Load Balancers ("HTTP 5XX … generated by the target")',
    fix: 'Read the target’s logs at those times; a 500 is a bug.',
  },
  'alb-elb-5xx': {
    severity: 'warning',
    title: 'The load balancer answered 5xx itself (502/503/504: no target, a bad answer, or too slow)',
    source: 'AWS: HTTP 502/503/504 in "Troubleshoot your Application Load Balancers"; docs/status-codes.md, "What the load balancer answers itself: 502, 503, 504"',
    fix: '502: a target closed or sent a malformed answer; 503: no healthy target; 504: slower than the idle timeout.',
  },
  'alb-502-burst': {
    severity: 'warning',
    title: 'A burst of load-balancer 502s (often a deployment that stops targets before draining them)',
    source: 'AWS: "Deregistration delay" in Target groups for your Application Load Balancers; docs/status-codes.md, "What the load balancer answers itself: 502, 503, 504"',
    fix: 'Deregister and drain before stopping a target; keep the target’s keep-alive timeout above the idle timeout.',
  },
  'alb-client-closed': {
    severity: 'warning',
    title: '460: clients gave up before the answer',
    source: 'AWS: HTTP 460 in "Troubleshoot your Application Load Balancers"',
    fix: 'Find the slow route (target_processing_time) or make the client’s timeout longer than the work.',
  },
} as const satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;

export function finding(rule: RuleId, message: string, exchange?: Exchange, extra: Partial<Finding> = {}): Finding {
  return { rule, severity: RULES[rule].severity, message, ...(exchange ? { exchange } : {}), ...extra };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const mediaType = (ct: string | undefined) => (ct ?? '').split(';')[0]!.trim().toLowerCase();
const isJson = (ct: string | undefined) => /^application\/([\w.+-]*\+)?json$/.test(mediaType(ct));

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- one answer at a time ----

/** The rules that need nothing but one request and its answer. */
export function judgeExchange(ex: Exchange): Finding[] {
  const out: Finding[] = [];
  const { status, headers: h, body } = ex.response;
  const method = ex.request.method.toUpperCase();
  const add = (rule: RuleId, message: string) => out.push(finding(rule, message, ex));

  if (status === 201 && !h.location) add('created-without-location', '201 without a Location field: the client cannot find what it created');
  if (status === 202 && !h.location && !h['content-location']) add('accepted-without-monitor', '202 without Location or Content-Location: nothing to poll');

  const extra = ex.response.bytesAfterBodylessResponse ?? 0;
  if (status === 204 || status === 304 || method === 'HEAD') {
    const what = method === 'HEAD' ? `an answer to HEAD (${status})` : String(status);
    if (extra > 0 || (body.length > 0 && method !== 'HEAD')) add('body-on-bodyless-response', `${what} followed by ${extra || body.length} bytes of content`);
    // RFC 9110 §8.6: a server MUST NOT send Content-Length in a 204 (a 304 or HEAD may, for the 200 it stands for).
    else if (status === 204 && h['content-length'] !== undefined && h['content-length'] !== '0') add('body-on-bodyless-response', `204 with Content-Length: ${h['content-length']}`);
  }

  if (status === 206 && !h['content-range'] && mediaType(h['content-type']) !== 'multipart/byteranges') add('partial-without-content-range', '206 without Content-Range: the client cannot tell which bytes it got');
  if (status === 416 && !/^bytes \*\/\d+$/.test(h['content-range'] ?? '')) add('unsatisfiable-without-length', h['content-range'] ? `416 with Content-Range: ${h['content-range']}` : '416 without Content-Range');

  if (REDIRECTS.has(status) && !h.location) add('redirect-without-location', `${status} without Location: there is nowhere to go`);
  if ((status === 301 || status === 302) && method !== 'GET' && method !== 'HEAD') {
    add('redirect-changes-method', `${method} answered ${status}: browsers and many clients repeat it as GET and drop the body; ${status === 301 ? 308 : 307} keeps both`);
  }

  if (status === 401) {
    const challenge = h['www-authenticate'];
    if (!challenge) add('unauthorized-without-challenge', '401 without WWW-Authenticate: the client is not told how to authenticate');
    else if (/^bearer\s/i.test(ex.request.headers.authorization ?? '') && /^\s*bearer\b/i.test(challenge) && !parseBearerChallenge(challenge)?.error) {
      add('bearer-challenge-without-error', `a token was sent and refused, and the challenge does not say why: ${challenge.slice(0, 120)}`);
    }
  }

  if (status === 405 && h.allow === undefined) add('method-not-allowed-without-allow', `${method} answered 405 without Allow`);
  if (ex.probe === 'allowed-method' && (status === 405 || status === 501)) add('allow-lies', `${method} is listed in Allow, and answered ${status}`);

  if ((status === 400 || status === 409 || status === 422) && method !== 'HEAD') {
    const parsed = isJson(h['content-type']) ? parseJson(body) : undefined;
    if (typeof parsed !== 'object' || parsed === null) add('error-without-details', `${status} with ${h['content-type'] ? mediaType(h['content-type']) : 'no Content-Type'}${body ? `: ${body.slice(0, 80)}` : ' and no body'}`);
  }

  if ((ex.probe === 'malformed-json' || ex.probe === 'wrong-type') && status === 422) {
    add('validation-status-swapped', ex.probe === 'malformed-json' ? 'a body that is not JSON answered 422: it could not be parsed, so 400' : 'a value of the wrong type answered 422: a type error is a parse error, so 400');
  }
  if (ex.probe === 'rule-violation' && status === 400) add('validation-status-swapped', 'a well-typed value that breaks a rule of the schema answered 400: it parsed, so 422');

  if ((status === 429 || status === 503) && !h['retry-after']) add('retry-after-missing', `${status} without Retry-After: clients will guess, and retry too soon`);
  if (status === 500 && h['retry-after']) add('internal-error-with-retry-after', `500 with Retry-After: ${h['retry-after']}`);

  if (status >= 500) {
    const leak = findInternalDetail(body);
    if (leak) add('internal-details-leaked', `${status} body holds: ${leak}`);
  }
  if (status >= 500 && (ex.probe === 'malformed-json' || ex.probe === 'wrong-type' || ex.probe === 'rule-violation' || ex.probe === 'invalid-token')) {
    add('server-error-on-bad-input', `${status} to a ${ex.probe.replace('-', ' ')} request: the client's mistake must be a 4xx`);
  }
  if (status >= 400 && method !== 'HEAD' && body.length > 0 && mediaType(h['content-type']) !== 'application/problem+json') {
    add('error-not-problem-json', `${status} as ${mediaType(h['content-type']) || 'no Content-Type'}`);
  }

  const rl = rateLimitDisagreement(ex);
  if (rl) add('rate-limit-headers-disagree', rl);

  if (status === 206 && parseEtag(h.etag ?? '')?.weak) add('etag-misuse', `206 with a weak ETag (${h.etag}): a client cannot safely combine ranges it validates weakly`);
  return out;
}

/** The rate-limit fields one answer carries, by family, as numbers. */
function rateLimitFields(h: Record<string, string>) {
  const num = (v: string | undefined) => (v !== undefined && /^\s*-?\d+\s*$/.test(v) ? Number(v) : undefined);
  const x = { limit: num(h['x-ratelimit-limit']), remaining: num(h['x-ratelimit-remaining']), reset: num(h['x-ratelimit-reset']) };
  const draft = { limit: num(h['ratelimit-limit']), remaining: num(h['ratelimit-remaining']), reset: num(h['ratelimit-reset']) };
  // draft-ietf-httpapi-ratelimit-headers-08 and later: structured fields, `RateLimit: "p";r=…;t=…`, `RateLimit-Policy: "p";q=…`.
  const param = (v: string | undefined, k: string) => num(new RegExp(`[;,]\\s*${k}=(\\d+)`).exec(v ?? '')?.[1]);
  if (h.ratelimit) {
    draft.remaining ??= param(h.ratelimit, 'r') ?? param(`,${h.ratelimit}`, 'remaining');
    draft.reset ??= param(h.ratelimit, 't') ?? param(`,${h.ratelimit}`, 'reset');
    draft.limit ??= param(`,${h.ratelimit}`, 'limit');
  }
  if (h['ratelimit-policy']) draft.limit ??= param(h['ratelimit-policy'], 'q') ?? num(h['ratelimit-policy'].split(/[;,]/)[0]);
  return { x, draft };
}

function rateLimitDisagreement(ex: Exchange): string | undefined {
  const { x, draft } = rateLimitFields(ex.response.headers);
  for (const [name, f] of [['X-RateLimit', x], ['RateLimit', draft]] as const) {
    if (f.remaining !== undefined && f.remaining < 0) return `${name} remaining is negative (${f.remaining})`;
    if (f.limit !== undefined && f.remaining !== undefined && f.remaining > f.limit) return `${name} remaining ${f.remaining} is above its limit ${f.limit}`;
    if (ex.response.status === 429 && f.remaining !== undefined && f.remaining > 0) return `429 while ${name} says ${f.remaining} requests remain`;
  }
  if (x.limit !== undefined && draft.limit !== undefined && x.limit !== draft.limit) return `X-RateLimit-Limit ${x.limit} but the RateLimit fields say ${draft.limit}`;
  if (x.remaining !== undefined && draft.remaining !== undefined && x.remaining !== draft.remaining) return `X-RateLimit-Remaining ${x.remaining} but the RateLimit fields say ${draft.remaining}`;
  return undefined;
}

// ---- answers compared ----

const sameUrl = (a: string, b: string) => {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
};

/** The shape a client sees of an error answer: its status, media type, and a problem's members and type/title. */
function errorShape(ex: Exchange): string {
  const parsed = isJson(ex.response.headers['content-type']) ? parseJson(ex.response.body) : undefined;
  const o = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  return JSON.stringify([ex.response.status, mediaType(ex.response.headers['content-type']), o ? Object.keys(o).sort() : typeof parsed, o?.type, o?.title, o?.code, o?.error]);
}

/** The rules that need two answers or more: redirect chains, HEAD against GET, 403 against 404, validators. */
export function judgeTogether(all: Exchange[]): Finding[] {
  const out: Finding[] = [];
  out.push(...redirectChains(all));

  for (const [i, head] of all.entries()) {
    if (head.request.method.toUpperCase() !== 'HEAD') continue;
    const get = plainGetBeside(all, i);
    if (!get) continue;
    const [a, b] = [get.response, head.response];
    let why: string | undefined;
    if (a.status !== b.status) why = `GET ${a.status}, HEAD ${b.status}`;
    else if (mediaType(a.headers['content-type']) !== mediaType(b.headers['content-type'])) why = `Content-Type: GET ${a.headers['content-type'] ?? '(none)'}, HEAD ${b.headers['content-type'] ?? '(none)'}`;
    else if (a.headers['content-length'] !== undefined && b.headers['content-length'] !== undefined && a.headers['content-length'] !== b.headers['content-length'] && !a.headers['content-encoding']) {
      why = `Content-Length: GET ${a.headers['content-length']}, HEAD ${b.headers['content-length']}`;
    } else if (a.headers.etag !== undefined && b.headers.etag !== undefined && a.headers.etag !== b.headers.etag) why = `ETag: GET ${a.headers.etag}, HEAD ${b.headers.etag}`;
    if (why) out.push(finding('head-differs-from-get', why, head, { related: get }));
  }

  const byOperation = new Map<string, Exchange[]>();
  for (const e of all) if (e.operation) byOperation.set(e.operation, [...(byOperation.get(e.operation) ?? []), e]);
  for (const list of byOperation.values()) {
    const other = list.find((e) => e.probe === 'other-user');
    const otherMissing = list.find((e) => e.probe === 'other-user-missing');
    const missing = list.find((e) => e.probe === 'missing');
    if (other?.response.status === 403 && otherMissing?.response.status === 404) {
      out.push(finding('forbidden-reveals-existence', `403 for a resource that exists, 404 for one that does not: anyone can tell which ids exist`, other, { related: otherMissing }));
    }
    if (other?.response.status === 404 && missing?.response.status === 404 && errorShape(other) !== errorShape(missing)) {
      out.push(finding('not-found-shapes-differ', `another user's: ${errorShape(other)}; missing: ${errorShape(missing)}`, other, { related: missing }));
    }
    const ifMatch = list.find((e) => e.probe === 'if-match');
    if (ifMatch) {
      const tag = parseEtag(ifMatch.request.headers['if-match'] ?? '');
      const s = ifMatch.response.status;
      if (tag?.weak && s >= 200 && s < 300) out.push(finding('etag-misuse', `If-Match: ${ifMatch.request.headers['if-match']} (weak) answered ${s}: If-Match must compare strongly, and a weak tag never matches`, ifMatch));
      if (tag && !tag.weak && s === 412) out.push(finding('etag-misuse', `If-Match with the current strong ETag ${ifMatch.request.headers['if-match']} answered 412`, ifMatch));
    }
  }
  return out;
}

/**
 * The GET of the same URL, by the same caller, without conditions or ranges, nearest to the HEAD at `i` with no
 * unsafe request between them: a DELETE in between changes what both should say.
 */
function plainGetBeside(all: Exchange[], i: number): Exchange | undefined {
  const head = all[i]!;
  const pairs = (e: Exchange) =>
    e.request.method.toUpperCase() === 'GET' && sameUrl(e.request.url, head.request.url) && e.request.headers.authorization === head.request.headers.authorization && !e.request.headers.range && !e.request.headers['if-none-match'] && !e.request.headers['if-match'];
  const unsafe = (e: Exchange) => !['GET', 'HEAD', 'OPTIONS', 'TRACE'].includes(e.request.method.toUpperCase());
  for (const step of [-1, 1]) {
    for (let j = i + step; j >= 0 && j < all.length; j += step) {
      if (pairs(all[j]!)) return all[j];
      if (unsafe(all[j]!)) break;
    }
  }
  return undefined;
}

function redirectChains(all: Exchange[]): Finding[] {
  const out: Finding[] = [];
  const target = (e: Exchange) => {
    try {
      return new URL(e.response.headers.location!, e.request.url).href;
    } catch {
      return undefined;
    }
  };
  const isRedirect = (e: Exchange) => REDIRECTS.has(e.response.status) && !!e.response.headers.location;
  // A chain starts at a redirect that no earlier redirect led to.
  for (const [i, first] of all.entries()) {
    if (!isRedirect(first) || all.slice(0, i).some((e) => isRedirect(e) && target(e) === new URL(first.request.url).href)) continue;
    const visited = [new URL(first.request.url).href];
    let at: Exchange | undefined = first;
    let j = i;
    while (at && isRedirect(at)) {
      const next = target(at);
      if (!next) break;
      if (visited.includes(next)) {
        out.push(finding('redirect-loop', `${visited.concat(next).join(' → ')}`, first));
        break;
      }
      visited.push(next);
      const k = all.findIndex((e, n) => n > j && sameUrl(e.request.url, next));
      at = k >= 0 ? all[k] : undefined;
      j = k;
    }
    if (visited.length - 1 > 5 && !out.some((f) => f.exchange === first)) out.push(finding('redirect-chain-too-long', `${visited.length - 1} redirects: ${visited.join(' → ')}`, first));
  }
  return out;
}
