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

/**
 * The load-balancer attributes that change what a target's request carries (AWS, "Application Load Balancer
 * attributes" and "X-Forwarded headers"), ALB's defaults when absent.
 */
export interface HeaderAttributes {
  /** `routing.http.xff_header_processing.mode`: append the client's address (default), pass it as sent, or drop it. */
  xffHeaderProcessingMode: 'append' | 'preserve' | 'remove';
  /** `routing.http.xff_client_port.enabled`: in append mode, the client's port too (`ip:port`, `[v6]:port`). */
  xffClientPort: boolean;
  /** `routing.http.preserve_host_header.enabled`: the Host as the client sent it, no port added or removed. */
  preserveHostHeader: boolean;
  /** `routing.http.drop_invalid_header_fields.enabled`: fields whose name is not letters, digits and hyphens are dropped. */
  dropInvalidHeaderFields: boolean;
  /** `routing.http.x_amzn_tls_version_and_cipher_suite.enabled`: X-Amzn-Tls-Version and -Cipher-Suite on HTTPS requests. */
  tlsVersionAndCipherSuiteHeaders: boolean;
}

export const ALB_HEADER_ATTRIBUTES: HeaderAttributes = {
  xffHeaderProcessingMode: 'append',
  xffClientPort: false,
  preserveHostHeader: false,
  dropInvalidHeaderFields: false,
  tlsVersionAndCipherSuiteHeaders: false,
};

/** A valid field name as ALB's drop_invalid_header_fields judges it (AWS: "[-A-Za-z0-9]+"). */
const VALID_NAME = /^[-A-Za-z0-9]+$/;

/** The client as X-Forwarded-For names it: its address, and with xff_client_port its port (IPv6 in brackets). */
function forwardedClient(ip: string, port: number | undefined, withPort: boolean): string {
  if (!withPort || port === undefined) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
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

/** Fields the gateway sets itself on a forwarded request (or leaves to the proxy), whatever the client sent (and X-Request-Id, with Receipt's extras). */
const REWRITTEN = new Set(['expect', 'content-length', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'x-amzn-trace-id']);

/**
 * The fields a target gets (ALB's request rewriting): hop-by-hop out, X-Forwarded-*, the trace id, Host. Built as a
 * flat raw list (name, value, …) straight from the client's raw fields, in their order and spelling, which Node's
 * client writes as it is — no header object built and validated a second time.
 */
export function targetFields(
  req: { httpVersion: string; rawHeaders: string[]; headers: { connection?: string | string[] | undefined; cookie?: string | undefined; host?: string | undefined; 'x-forwarded-for'?: string | string[] | undefined } },
  listener: { protocol: 'http' | 'https'; port: number },
  route: { forwardHost: string; clientIp: string; clientPort?: number | undefined; trace: string; requestId: string | undefined; negotiated?: { sslCipher: string; sslProtocol: string } | undefined; clientCert?: string[] | undefined; oidcFields?: string[] | undefined },
  attrs: HeaderAttributes = ALB_HEADER_ATTRIBUTES,
  /**
   * Receipt's extra: an X-Request-Id on every forwarded request (the client's, else the trace's Root), so the shop's
   * logs and problem bodies name the request. ALB sets no such field, so without extras the client's passes untouched.
   */
  addRequestId = false,
): string[] {
  const tokens = connectionTokens(req.headers.connection);
  const h2 = req.httpVersion === '2.0';
  const raw = req.rawHeaders;
  const out: string[] = [];
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === ':authority') authority = raw[i + 1];
    // Pseudo-fields are HTTP/2's request line; Expect is answered here; framing is the proxy's to set; the rest
    // is rewritten below.
    if (lower.charCodeAt(0) === 58 || isHopByHop(lower, tokens) || REWRITTEN.has(lower) || (addRequestId && lower === 'x-request-id')) continue;
    // RFC 9113 §8.2.3: HTTP/2 may split Cookie into crumbs; HTTP/1.1 gets them joined into one field.
    if (h2 && lower === 'cookie') continue;
    if (attrs.dropInvalidHeaderFields && !VALID_NAME.test(name)) continue;
    // With mutual TLS on, the certificate fields are the load balancer's to write: a client cannot forge them.
    if (route.clientCert && lower.startsWith('x-amzn-mtls-')) continue;
    // Behind an authenticate action, the identity fields are the load balancer's to write, never the client's.
    if (route.oidcFields && lower.startsWith('x-amzn-oidc-')) continue;
    out.push(name, raw[i + 1]!);
  }
  if (h2 && req.headers.cookie) out.push('cookie', req.headers.cookie);
  // preserve_host_header: the client's Host (or HTTP/2's :authority) untouched; without one, ALB's own.
  const sentHost = h2 ? (authority ?? req.headers.host) : req.headers.host;
  out.push('host', attrs.preserveHostHeader && sentHost ? sentHost : route.forwardHost);
  const xff = req.headers['x-forwarded-for'];
  if (attrs.xffHeaderProcessingMode === 'append') out.push('x-forwarded-for', appendForwardedFor(xff, forwardedClient(route.clientIp, route.clientPort, attrs.xffClientPort)));
  else if (attrs.xffHeaderProcessingMode === 'preserve' && xff !== undefined) out.push('x-forwarded-for', Array.isArray(xff) ? xff.join(', ') : xff);
  out.push(
    'x-forwarded-proto', listener.protocol,
    'x-forwarded-port', String(listener.port),
    'x-amzn-trace-id', route.trace,
  );
  if (addRequestId) out.push('x-request-id', route.requestId ?? traceRoot(route.trace));
  if (route.clientCert) for (const f of route.clientCert) out.push(f);
  if (route.oidcFields) for (const f of route.oidcFields) out.push(f);
  if (attrs.tlsVersionAndCipherSuiteHeaders && route.negotiated) out.push('x-amzn-tls-version', route.negotiated.sslProtocol, 'x-amzn-tls-cipher-suite', route.negotiated.sslCipher);
  return out;
}
