/**
 * The checks ALB makes on a request before any listener rule, in its order, as data: each names what it looks at and
 * the failure (failures.ts) that answers a request it refuses. One runner applies them; the first refusal answers.
 * The last, desync mitigation, may also let a request through with a classification, or forward it and then close
 * both connections ("Desync mitigation mode" on AWS's Application Load Balancer attributes page).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { classifyRaw, verdict, type DesyncMode, type Tier } from './desync.ts';
import { FAILURES, type GatewayFailure } from './failures.ts';
import { forwardedCount } from './headers.ts';
import { ALB_LIMITS } from './limits.ts';
import type { parseRequestTarget } from './request-target.ts';
import type { Framing } from './wire/framing.ts';
import { asText } from './wire/head.ts';

/** Methods a target's HTTP/1.1 parser reads (Node's list, llhttp's): anything else cannot be forwarded. */
const FORWARDABLE_METHODS: ReadonlySet<string> = new Set(http.METHODS);

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
  /** HTTP/1.x: the head as received (what the classifier judges) and the body's framing (wire/framing.ts). */
  received?: { method: string; target: string; version: string; fields: readonly string[] };
  framing?: Framing;
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
    // HTTP/1.x only: there a request's end is a matter of interpretation; HTTP/2 frames it. Judged on the head as it
    // came, before anything that depends on reading it one way.
    name: 'desync classification',
    run: (r, mode) => {
      const h = r.received;
      if (!h) return undefined;
      const fields = h.fields.map(asText);
      const c = classifyRaw(asText(h.method), asText(h.target), h.version, fields);
      if (c.tier === 'Compliant') return undefined;
      const v = verdict(mode, c.tier);
      return { classification: { tier: c.tier, reason: c.reason }, ...(v === 'block' ? { failure: FAILURES.desyncBlocked } : {}), closeConnections: v === 'forward-then-close' };
    },
  },
  {
    // RFC 9112 §6.3: a final coding other than chunked leaves the length unknown (ALB: 501 for any Transfer-Encoding
    // but chunked and identity); Content-Lengths that are not one number are an unrecoverable error (400).
    name: 'body framing',
    run: (r) => {
      const f = r.framing;
      if (!f) {
        const te = r.headers['transfer-encoding'];
        return te !== undefined && !/^\s*(chunked|identity)\s*$/i.test(te) ? refuse(FAILURES.transferEncoding) : undefined;
      }
      if (f.kind !== 'invalid') return undefined;
      return refuse(f.code === 'HPE_INVALID_TRANSFER_ENCODING' ? FAILURES.transferEncoding : FAILURES.malformedRequest);
    },
  },
  // A method that is no token, or that no target's parser knows: a request that cannot be written to a target.
  { name: 'method', run: (r) => (r.received && !FORWARDABLE_METHODS.has(r.method) ? refuse(FAILURES.malformedRequest) : undefined) },
  { name: 'X-Forwarded-For of more than 30 addresses', run: (r) => (forwardedCount(r.headers['x-forwarded-for']) > ALB_LIMITS.forwardedFor ? refuse(FAILURES.tooManyForwarded) : undefined) },
  { name: 'request target (RFC 9112 §3.2)', run: (r) => (r.target.ok ? undefined : refuse(FAILURES.invalidRequestTarget)) },
  { name: 'Host (RFC 9112 §3.2)', run: (r) => (r.hostOk ? undefined : refuse(FAILURES.invalidHost)) },
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
