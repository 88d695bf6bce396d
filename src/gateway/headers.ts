/**
 * Request headers the gateway adds or strips on the way to a target (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html).
 */
import crypto from 'node:crypto';

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, so a proxy removes them, plus any field the
 * Connection header names.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

export function isHopByHop(name: string, connectionTokens: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || connectionTokens.has(name);
}

const NO_TOKENS: ReadonlySet<string> = new Set();

export function connectionTokens(connection: string | string[] | undefined): ReadonlySet<string> {
  // The common case (`keep-alive`, or no header) names no other field: no allocation per request.
  if (!connection || connection === 'keep-alive' || connection === 'close') return NO_TOKENS;
  const v = Array.isArray(connection) ? connection.join(',') : connection;
  return new Set(v.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/**
 * X-Amzn-Trace-Id (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-request-tracing.html): `Root=1-{epoch seconds, 8 hex}-{24 hex}`. An incoming header with a Root
 * keeps it and gets a `Self=` field inserted before it; an incoming Self is updated; other fields are kept.
 */
export function traceId(incoming: string | undefined, now = Date.now()): string {
  // randomUUID draws on a cached entropy pool: far cheaper per request than randomBytes (24 hex digits = 96 bits).
  const fresh = `1-${Math.floor(now / 1000).toString(16).padStart(8, '0')}-${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`;
  if (!incoming || !/Root=/.test(incoming)) return `Root=${fresh}`;
  const fields = incoming.split(';').map((f) => f.trim()).filter((f) => f && !f.startsWith('Self='));
  return [`Self=${fresh}`, ...fields].join(';');
}

/** The Root of a trace header, for the access log. */
export function traceRoot(header: string): string {
  return /Root=([^;]+)/.exec(header)?.[1] ?? header;
}

/** X-Forwarded-For in ALB's default `append` mode: the client's address is added at the right end. */
export function appendForwardedFor(existing: string | string[] | undefined, clientIp: string): string {
  const prior = Array.isArray(existing) ? existing.join(', ') : existing;
  return prior ? `${prior}, ${clientIp}` : clientIp;
}

/** How many addresses an X-Forwarded-For holds (more than 30 is ALB's 463). */
export function forwardedCount(existing: string | string[] | undefined): number {
  if (!existing) return 0;
  return (Array.isArray(existing) ? existing.join(',') : existing).split(',').filter((s) => s.trim()).length;
}

/**
 * The Host the target sees (AWS's load balancer attributes page, host header): lower-cased; the listener's port appended when missing and not the
 * default for the protocol; a default port stripped.
 */
export function forwardedHost(host: string | undefined, protocol: 'http' | 'https', listenerPort: number): string | undefined {
  if (!host) return undefined;
  const lower = host.toLowerCase();
  const m = /^(.*?)(?::(\d+))?$/.exec(lower)!;
  const name = m[1]!;
  const port = m[2] !== undefined ? Number(m[2]) : listenerPort;
  const isDefault = (protocol === 'http' && port === 80) || (protocol === 'https' && port === 443);
  return isDefault ? name : `${name}:${port}`;
}
