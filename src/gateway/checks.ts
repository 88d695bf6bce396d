/**
 * The checks ALB makes on a request before any listener rule, in its order, as data: each names what it looks at and
 * the failure (failures.ts) that answers a request it refuses. One runner applies them; the first refusal answers.
 * The last, desync mitigation, may also let a request through with a classification, or forward it and then close
 * both connections ("Desync mitigation mode" on AWS's Application Load Balancer attributes page).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { classifyRaw, verdict, type DesyncMode, type Tier } from './desync.ts';
import { FAILURES, type GatewayFailure } from './failures.ts';
import { forwardedCount } from './headers.ts';
import { ALB_LIMITS } from './limits.ts';
import type { parseRequestTarget } from './request-target.ts';

/** What the checks look at, measured once. */
export interface RequestFacts {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  /** The header section's size, and whether one field alone is over ALB's limit. */
  headerBytes: number;
  oversizeField: boolean;
  target: ReturnType<typeof parseRequestTarget>;
  hostOk: boolean;
}

export interface CheckVerdict {
  failure?: GatewayFailure;
  classification?: { tier: Exclude<Tier, 'Compliant'>; reason: string };
  /** Forward it, then reuse neither connection (an Ambiguous request in defensive mode). */
  closeConnections?: boolean;
}

interface Check {
  name: string;
  run(r: RequestFacts, mode: DesyncMode): CheckVerdict | undefined;
}

const refuse = (failure: GatewayFailure): CheckVerdict => ({ failure });

export const REQUEST_CHECKS: readonly Check[] = [
  {
    name: 'size (request line 16 K, a field 16 K, all fields 64 K)',
    run: (r) => (r.url.length > ALB_LIMITS.requestLineBytes || r.oversizeField || r.headerBytes > ALB_LIMITS.headersBytes ? refuse(FAILURES.requestTooLarge) : undefined),
  },
  { name: 'method TRACE', run: (r) => (r.method === 'TRACE' ? refuse(FAILURES.trace) : undefined) },
  { name: 'method CONNECT', run: (r) => (r.method === 'CONNECT' ? refuse(FAILURES.connect) : undefined) },
  {
    name: 'Transfer-Encoding other than chunked or identity',
    run: (r) => {
      const te = r.headers['transfer-encoding'];
      return te !== undefined && !/^\s*(chunked|identity)\s*$/i.test(te) ? refuse(FAILURES.transferEncoding) : undefined;
    },
  },
  { name: 'X-Forwarded-For of more than 30 addresses', run: (r) => (forwardedCount(r.headers['x-forwarded-for']) > ALB_LIMITS.forwardedFor ? refuse(FAILURES.tooManyForwarded) : undefined) },
  { name: 'request target (RFC 9112 §3.2)', run: (r) => (r.target.ok ? undefined : refuse(FAILURES.invalidRequestTarget)) },
  { name: 'Host (RFC 9112 §3.2)', run: (r) => (r.hostOk ? undefined : refuse(FAILURES.invalidHost)) },
  {
    // HTTP/1.x only: there a request's end is a matter of interpretation; HTTP/2 frames it.
    name: 'desync classification',
    run: (r, mode) => {
      if (r.httpVersion === '2.0') return undefined;
      const c = classifyRaw(r.method, r.url, `HTTP/${r.httpVersion}`, r.rawHeaders);
      if (c.tier === 'Compliant') return undefined;
      const v = verdict(mode, c.tier);
      return { classification: { tier: c.tier, reason: c.reason }, ...(v === 'block' ? { failure: FAILURES.desyncBlocked } : {}), closeConnections: v === 'forward-then-close' };
    },
  },
];

/** Every check in order: the first refusal, or what the request may go on with. */
export function checkRequest(r: RequestFacts, mode: DesyncMode): CheckVerdict {
  const passed: CheckVerdict = {};
  for (const check of REQUEST_CHECKS) {
    const v = check.run(r, mode);
    if (!v) continue;
    if (v.failure) return { ...passed, ...v };
    Object.assign(passed, v);
  }
  return passed;
}
