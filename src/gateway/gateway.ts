/**
 * The gateway: an emulation of AWS's Application Load Balancer in front of the shop targets.
 *
 * Per request, in ALB's order: check the request (sizes, method, framing, target form, Host, desync class), match a
 * listener rule, run its action (fixed-response, redirect, or forward to a target group), proxy, map any upstream
 * failure (failures.ts — the one place a status is decided), and write one access-log line.
 *
 * Listeners: an HTTP listener speaks HTTP/1.x; an HTTPS listener negotiates HTTP/2 or HTTP/1.1 by ALPN (RFC 7301),
 * as ALB does by default, and always speaks HTTP/1.1 to targets. HTTP/1.x — plain, or TLS whose client chose
 * http/1.1 — is read by the gateway's own connection handler (listener/connection.ts), so the desync classifier
 * judges the bytes as they came; HTTP/2 is node:http2's.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { H1Connection } from './listener/connection.ts';
import type { H1Request } from './listener/request.ts';
import type { AccessLog, AccessRecord, ConnectionType } from './access-log.ts';
import type { Action, GatewayConfig, ListenerConfig } from './config.ts';
import { checkRequest } from './checks.ts';
import { classifyParserError, type DesyncMode } from './desync.ts';
import { albPhrase, errorPage, rawAnswer, rawFailure } from './error-page.ts';
import { classifyClientError, classifyUpstreamError, FAILURES, type GatewayFailure } from './failures.ts';
import { forwardedHost, targetFields, traceId, traceRoot } from './headers.ts';
import { forward, isHttp2, writeHead, type ClientRequest, type ClientResponse } from './proxy.ts';
import { parseRequestTarget, requestHost } from './request-target.ts';
import { applyTransforms, compileRules, matchRule, redirectUrl, type CompiledRule } from './rules.ts';
import { appCookies, APP_COOKIE, cookieValue, LB_COOKIE, LB_COOKIE_CORS, pairCookies, setsCookie, StickyCookies, TG_COOKIE, TG_COOKIE_CORS } from './cluster/stickiness.ts';
import { TargetGroup } from './cluster/target-group.ts';
import { ALB_LIMITS, normalizeGatewayConfig, type NormalizedGatewayConfig } from './limits.ts';
import { tunnel } from './tunnel.ts';
import { H2Sessions } from './listener/h2-sessions.ts';
import { negotiated, tlsOptions, type TlsMaterial } from './tls-policy.ts';

/** Methods for which Node sends no framing when there is no content (it frames the others as chunked). */
const NO_CONTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);


export interface GatewayOptions {
  config: GatewayConfig;
  host: string;
  /** The HTTPS listeners' certificates: the self-signed stand-in, and the user's own by ARN (tls-policy.ts). */
  tls?: TlsMaterial;
  accessLog: AccessLog;
  /** Called once per request with its record (metrics). */
  onRecord?: (r: AccessRecord) => void;
  /** Requests one HTTP/2 connection carries before the gateway sends GOAWAY (ALB: 10,000; lower in tests). */
  http2MaxRequests?: number;
}

interface Listener {
  config: ListenerConfig;
  protocol: 'http' | 'https';
  /** The socket server: plain TCP, or TLS. */
  server: net.Server;
  /** Every HTTP/1.x connection of this listener, plain or decrypted. */
  h1: Set<H1Connection>;
  h2?: H2Sessions;
  rules: CompiledRule[];
  port: number;
}

/** What the checks and the rules decided for one request. */
type Routed = { failure: GatewayFailure } | { action: Action; route: Route };

interface Route {
  /** The host rules see: lower-cased, without its port. */
  host: string;
  /** The Host the target gets (ALB's rewriting). */
  forwardHost: string;
  path: string;
  query: string;
  /** What the target's request line carries: origin-form, or `*`. */
  targetPath: string;
  trace: string;
  requestId: string;
  clientIp: string;
  clientPort: number | undefined;
  /** The client's TLS version and cipher (OpenSSL's names, as ALB's X-Amzn-Tls-* headers), on HTTPS. */
  tls: { version: string; cipher: string } | undefined;
  /** An Ambiguous request in defensive mode: forwarded, then neither connection is reused. */
  closeConnections: boolean;
}

/** A redirect action's status and Location for this request (the placeholders resolved by rules.ts). */
function redirectOf(action: Extract<Action, { type: 'redirect' }>, listener: Listener, route: Route): { status: 301 | 302; location: string } {
  const location = redirectUrl(
    { ...action, protocol: action.protocol === '#{protocol}' ? undefined : action.protocol?.toLowerCase() },
    { protocol: listener.protocol, host: route.host, port: listener.port, path: route.path, query: route.query },
  );
  return { status: action.statusCode === 'HTTP_301' ? 301 : 302, location };
}

/**
 * The answer of an action the gateway gives itself (fixed-response, redirect), the same for a plain request, an
 * HTTP/2 stream and an upgrade request: status, fields and body, and what the access log records of it.
 */
function ownAnswer(action: Exclude<Action, { type: 'forward' }>, listener: Listener, route: Route): { status: number; fields: Record<string, string>; body: string; redirectUrl: string | undefined } {
  if (action.type === 'fixed-response') {
    const body = action.messageBody ?? '';
    return { status: Number(action.statusCode), fields: { 'content-type': action.contentType ?? 'text/plain' }, body, redirectUrl: undefined };
  }
  const { status, location } = redirectOf(action, listener, route);
  return { status, fields: { location, 'content-type': 'text/html' }, body: '', redirectUrl: location };
}

const isHttp1 = (req: ClientRequest): req is H1Request => 'received' in req;

const clientAddress = (socket: { remoteAddress?: string | undefined }) => (socket.remoteAddress ?? '').replace(/^::ffff:/, '');

/**
 * ALB's connection traceability id (`conn_trace_id`): one opaque value per client connection, the same on every
 * request it carries, so a connection's requests can be found together in the access log.
 */
const connIds = new WeakMap<object, string>();
function connTraceId(socket: object): string {
  let id = connIds.get(socket);
  if (!id) connIds.set(socket, (id = `TID_${crypto.randomBytes(8).toString('hex')}`));
  return id;
}

/** The TLS version and cipher of a client's connection (an HTTP/2 stream's socket stands for its session's). */
function tlsOf(socket: unknown): { version: string; cipher: string } | undefined {
  const s = socket as Partial<Pick<tls.TLSSocket, 'getProtocol' | 'getCipher'>> | undefined;
  if (typeof s?.getProtocol !== 'function' || typeof s.getCipher !== 'function') return undefined;
  const version = s.getProtocol();
  const cipher = s.getCipher()?.name;
  return version && cipher ? { version, cipher } : undefined;
}

export class Gateway {
  readonly groups = new Map<string, TargetGroup>();
  /**
   * Connection counts ALB publishes (NewConnectionCount, ActiveConnectionCount, ClientTLSNegotiationErrorCount):
   * from clients to the gateway, and from the gateway to targets. Plain numbers, read when metrics are scraped.
   */
  readonly connections = { clients: { opened: 0, open: 0 }, targets: { opened: 0, open: 0 }, tlsNegotiationErrors: 0 };
  readonly #listeners: Listener[] = [];
  readonly #opts: GatewayOptions;
  /** The configuration with every ALB default filled in (limits.ts): nothing below has a default of its own. */
  readonly #config: NormalizedGatewayConfig;
  readonly #idleMs: number;
  readonly #desync: DesyncMode;
  /** Seals and opens sticky-session cookies (a key of this gateway's, made at start). */
  readonly #sticky = new StickyCookies();
  #closing = false;

  constructor(opts: GatewayOptions) {
    this.#opts = opts;
    this.#config = normalizeGatewayConfig(opts.config);
    this.#idleMs = this.#config.idleTimeoutMs;
    this.#desync = this.#config.desyncMitigationMode;
    for (const g of this.#config.targetGroups) {
      const group = new TargetGroup(g, {
        connectTimeoutMs: this.#config.connectTimeoutMs,
        idleTimeoutMs: this.#idleMs,
        maxResponseHeaderBytes: ALB_LIMITS.responseHeaderBytes,
        connections: this.connections.targets,
      });
      for (const t of g.targets) group.register(t.id, t.host, t.port);
      this.groups.set(g.name, group);
    }
  }

  group(name = 'shop'): TargetGroup {
    const g = this.groups.get(name);
    if (!g) throw new Error(`no target group ${name}`);
    return g;
  }

  /** The ports actually bound, in listener order (useful when configured as 0). */
  get ports(): number[] {
    return this.#listeners.map((l) => l.port);
  }

  listener(protocol: 'http' | 'https'): { port: number } | undefined {
    return this.#listeners.find((l) => l.protocol === protocol);
  }

  async listen(): Promise<void> {
    for (const config of this.#config.listeners) {
      const protocol = config.protocol === 'HTTPS' ? 'https' : 'http';
      if (protocol === 'https' && !this.#opts.tls) throw new Error('an HTTPS listener needs a certificate');
      const listener = this.#createListener(config, protocol);
      // Every TCP connection a client opens, before any TLS or HTTP (ALB counts them so).
      const counts = this.connections.clients;
      listener.server.on('connection', (socket: net.Socket) => {
        counts.opened++;
        counts.open++;
        socket.once('close', () => counts.open--);
      });
      await new Promise<void>((resolve, reject) => {
        listener.server.once('error', reject);
        listener.server.listen(config.port, this.#opts.host, () => resolve());
      });
      listener.port = (listener.server.address() as net.AddressInfo).port;
      this.#listeners.push(listener);
    }
  }

  #createListener(config: ListenerConfig, protocol: 'http' | 'https'): Listener {
    const listener: Listener = { config, protocol, server: undefined as unknown as net.Server, h1: new Set(), rules: compileRules(config), port: config.port };
    const h1 = (socket: net.Socket) => this.#serveHttp1(listener, socket);
    if (protocol === 'http') {
      listener.server = net.createServer(h1);
      return listener;
    }

    const h2 = http2.createServer({ settings: { maxConcurrentStreams: ALB_LIMITS.h2MaxStreams } });
    h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void this.#handle(listener, req, res, 'h2'));
    const sessions = new H2Sessions(h2, { idleMs: this.#idleMs, maxRequests: this.#opts.http2MaxRequests ?? ALB_LIMITS.h2MaxRequests });
    listener.h2 = sessions;
    listener.server = tls.createServer({ ...tlsOptions(config, this.#opts.tls!), ALPNProtocols: this.#config.http2Enabled === false ? ['http/1.1'] : ['h2', 'http/1.1'] }, (socket) => {
      if (socket.alpnProtocol === 'h2') sessions.accept(socket);
      else h1(socket);
    });
    // A client whose TLS handshake failed (ALB's ClientTLSNegotiationErrorCount).
    listener.server.on('tlsClientError', () => this.connections.tlsNegotiationErrors++);
    return listener;
  }

  /** One HTTP/1.x connection, read by the gateway itself (listener/connection.ts). */
  #serveHttp1(listener: Listener, socket: net.Socket): void {
    const type: ConnectionType = listener.protocol;
    const conn = new H1Connection(
      socket,
      {
        idleMs: this.#idleMs,
        keepAliveMs: this.#config.clientKeepAliveMs,
        maxHeadBytes: ALB_LIMITS.requestLineBytes + ALB_LIMITS.headersBytes,
        closing: () => this.#closing,
      },
      {
        request: (req, res, expectationFailed) => void this.#handle(listener, req, res, type, expectationFailed ? FAILURES.expectation : undefined),
        upgrade: (req, s, head) => void this.#upgrade(listener, req, s, head),
        connect: (req, s) => this.#refuseRaw(listener, req, s, FAILURES.connect),
        refuse: (s, code, message) => this.#clientError(listener, s, code, message),
      },
    );
    listener.h1.add(conn);
    socket.once('close', () => listener.h1.delete(conn));
  }

  #log(r: AccessRecord): void {
    this.#opts.accessLog.write(r);
    this.#opts.onRecord?.(r);
  }

  #newRecord(type: ConnectionType, socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }, created: Date): AccessRecord {
    return {
      type,
      time: created,
      client: `${clientAddress(socket) || '-'}:${socket.remotePort ?? 0}`,
      requestProcessingTime: -1,
      targetProcessingTime: -1,
      responseProcessingTime: -1,
      elbStatusCode: 0,
      receivedBytes: 0,
      sentBytes: 0,
      request: '- - - ',
      userAgent: '',
      targetGroup: '-',
      traceId: '-',
      domainName: '-',
      requestCreationTime: created,
      actionsExecuted: [],
      connTraceId: connTraceId(socket),
      ...negotiated(socket),
    };
  }

  /**
   * Bytes the head parser could not read as a request (wire/head.ts), or a head that did not come within the idle
   * timeout: the answer (400/408) as bytes for the connection to send before it closes, and a log line with the
   * desync classification of what was refused.
   */
  #clientError(listener: Listener, socket: net.Socket, code: string, message: string): string {
    const record = this.#newRecord(listener.protocol, socket, new Date());
    const failure = classifyClientError(code, message);
    const c = classifyParserError(code, message);
    if (c.tier !== 'Compliant') {
      record.classification = c.tier;
      record.classificationReason = c.reason;
    }
    record.elbStatusCode = failure.status;
    record.errorReason = failure.reason;
    const answer = rawFailure(failure.status, failure.reason, undefined, '-');
    record.sentBytes = answer.bodyBytes;
    this.#log(record);
    return answer.text;
  }

  /** A request answered on the bare socket (CONNECT): a status and a log line; the connection then closes. */
  #refuseRaw(listener: Listener, req: H1Request, socket: net.Socket, failure: GatewayFailure): string {
    const record = this.#newRecord(listener.protocol, socket, new Date());
    record.request = `${req.method} ${req.url} HTTP/${req.httpVersion}`;
    record.userAgent = req.headers['user-agent'] ?? '';
    record.elbStatusCode = failure.status;
    record.errorReason = failure.reason;
    const answer = rawFailure(failure.status, failure.reason, req.headers.accept, '-');
    record.sentBytes = answer.bodyBytes;
    this.#log(record);
    return answer.text;
  }

  /**
   * The checks ALB makes before any rule, then the rule: everything a request needs to be routed, or the failure
   * that answers it. Shared by plain requests, HTTP/2 streams and upgrades.
   */
  #route(listener: Listener, req: ClientRequest, record: AccessRecord): Routed {
    const h2 = req.httpVersion === '2.0';
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const trace = traceId(req.headers['x-amzn-trace-id'] as string | undefined);
    record.traceId = trace;
    record.userAgent = req.headers['user-agent'] ?? '';
    const raw = req.rawHeaders;
    const received = isHttp1(req) ? req.received : undefined;
    // Sizes are of what came, every field line counted, forwardable or not.
    const measured = received?.fields ?? raw;
    let total = 0;
    let oversize = false;
    for (let i = 0; i < measured.length; i += 2) {
      const size = measured[i]!.length + measured[i + 1]!.length + 4;
      if (size > ALB_LIMITS.headerBytes) oversize = true;
      total += size;
    }
    record.receivedBytes = received ? received.headBytes : method.length + url.length + 12 + total + 2;
    const target = parseRequestTarget(method, url);
    const authority = target.ok ? target.authority : undefined;
    const hostResult = h2 ? { ok: true as const, host: String(req.headers[':authority'] ?? req.headers.host ?? '').toLowerCase() } : requestHost(raw, req.httpVersion, authority);
    const hostWithPort = hostResult.ok ? hostResult.host : '';
    const requestPath = target.ok ? `${target.path}${target.query ? `?${target.query}` : ''}` : url;
    const scheme = listener.protocol;
    record.request = `${method} ${scheme}://${hostWithPort || '-'}${hostWithPort.includes(':') ? '' : `:${listener.port}`}${requestPath.startsWith('/') ? requestPath : `/${requestPath}`} HTTP/${req.httpVersion}`;
    const host = hostWithPort.replace(/:\d+$/, '');
    record.domainName = host;

    // ALB's checks, in its order (checks.ts): the first refusal answers; desync mitigation may classify and go on.
    const checked = checkRequest(
      {
        method,
        url,
        httpVersion: req.httpVersion,
        rawHeaders: raw,
        headers: req.headers,
        headerBytes: total,
        oversizeField: oversize,
        target,
        hostOk: hostResult.ok,
        ...(isHttp1(req) ? { received: req.received, framing: req.framing } : {}),
      },
      this.#desync,
    );
    if (checked.classification) {
      record.classification = checked.classification.tier;
      record.classificationReason = checked.classification.reason;
    }
    if (checked.failure) return { failure: checked.failure };
    if (!target.ok) return { failure: FAILURES.invalidRequestTarget }; // (the checks refused it already; this narrows the type)
    const closeConnections = checked.closeConnections ?? false;

    const clientIp = clientAddress(req.socket);
    const rule = matchRule(listener.rules, req, { host, path: target.path, query: target.query, sourceIp: clientIp });
    // The rule's transforms rewrite what the target gets, never which rule matched (AWS, "Transforms for listener rules").
    const transformed = applyTransforms(rule.transforms, host, requestPath);
    if (rule.transforms) {
      record.transformedHost = transformed.host ?? '-';
      record.transformedUri = transformed.url ?? '-';
      if (transformed.failed) return { failure: FAILURES.transformFailed };
    }
    record.matchedRulePriority = rule.priority;
    const action = rule.actions[rule.actions.length - 1]!;
    // HTTP/1.0 without Host: ALB puts its own name there; this gateway's is its listener address.
    const forwardHost = forwardedHost(hostWithPort || `${this.#opts.host}:${listener.port}`, scheme, listener.port)!;
    // The id the target's logs will carry: kept on the record so the terminal's line for the request names it too.
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? traceRoot(trace);
    record.requestId = requestId;
    return {
      action,
      route: {
        host,
        forwardHost: transformed.host ?? forwardHost,
        path: target.path,
        query: target.query,
        targetPath: transformed.url ?? (target.form === 'asterisk' ? '*' : requestPath),
        trace,
        requestId,
        clientIp,
        clientPort: req.socket.remotePort,
        tls: tlsOf(req.socket),
        closeConnections,
      },
    };
  }

  async #handle(listener: Listener, req: ClientRequest, res: ClientResponse, type: ConnectionType, refuse?: GatewayFailure): Promise<void> {
    const created = new Date();
    const t0 = performance.now();
    const record = this.#newRecord(type, req.socket, created);
    let requestId = '-';
    let closeConnection = false;
    const fail = (failure: GatewayFailure) => {
      const page = errorPage(failure.status, req.headers.accept, requestId, failure.reason);
      if (!res.headersSent && !res.destroyed && failure.status !== 460) {
        const headers: http.OutgoingHttpHeaders = {
          server: 'awselb/2.0',
          'content-type': page.contentType,
          'content-length': Buffer.byteLength(page.body),
          'x-request-id': requestId,
        };
        // A refused request may leave bytes on the connection that cannot be trusted as the next request.
        if (failure.status === 400 || closeConnection) headers.connection = 'close';
        writeHead(res, failure.status, headers, albPhrase(failure.status));
        res.end(page.body);
        record.sentBytes = Buffer.byteLength(page.body);
      }
      record.elbStatusCode = failure.status;
      record.errorReason = failure.reason;
    };

    try {
      const routed = this.#route(listener, req, record);
      if ('failure' in routed) return fail(routed.failure);
      const { action, route } = routed;
      requestId = route.requestId;
      closeConnection = route.closeConnections;
      if (refuse) return fail(refuse);
      record.requestProcessingTime = (performance.now() - t0) / 1000;
      await this.#act(action, listener, req, res, record, route, fail);
    } catch {
      // An error inside the gateway itself: ALB logs priority -1; the gateway, not a target, answers for it.
      record.matchedRulePriority ??= -1;
      fail(FAILURES.internalError);
    } finally {
      this.#log(record);
    }
  }

  async #act(action: Action, listener: Listener, req: ClientRequest, res: ClientResponse, record: AccessRecord, route: Route, fail: (f: GatewayFailure) => void): Promise<void> {
    if (action.type !== 'forward') {
      const a = ownAnswer(action, listener, route);
      writeHead(res, a.status, { server: 'awselb/2.0', ...a.fields, 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
      record.actionsExecuted = [action.type];
      record.elbStatusCode = a.status;
      record.sentBytes = Buffer.byteLength(a.body);
      if (a.redirectUrl) record.redirectUrl = a.redirectUrl;
      return;
    }
    record.actionsExecuted = ['forward'];
    const { group, target, responseFields } = this.#stickyChoice(action, req.headers.cookie);
    record.targetGroup = `targetgroup/${group.name}`;
    if (!target) return fail(FAILURES.noRegisteredTargets);
    record.target = target.address;

    const headers = targetFields(req, listener, route, this.#config.headerAttributes);
    // The body's framing (RFC 9112 §6.3): chunked wins; then Content-Length; HTTP/2 frames its own.
    let hasBody: boolean;
    let contentLength: number | undefined;
    let codings: string[] | undefined;
    const cl = req.headers['content-length'];
    if (isHttp2(res) || !isHttp1(req)) {
      hasBody = !(req as http2.Http2ServerRequest).stream.endAfterHeaders;
      contentLength = cl !== undefined ? Number(cl) : undefined;
    } else if (req.framing.kind === 'chunked') {
      hasBody = true;
      codings = req.framing.codings;
    } else {
      contentLength = req.framing.kind === 'length' ? req.framing.length : undefined;
      hasBody = (contentLength ?? 0) > 0;
      // Neither field: the request has no content (RFC 9112 §6.3). Said as `Content-Length: 0` where the method
      // gives content a meaning (RFC 9110 §8.6) — otherwise Node frames a body-less POST as an empty chunked body,
      // and a target that sees a body without Content-Type answers 415 to a request that sent none.
      if (contentLength === 0 || (contentLength === undefined && !NO_CONTENT_METHODS.has(req.method ?? 'GET'))) headers.push('content-length', '0');
    }

    const t = performance.now();
    const result = await forward(req, res, target, {
      method: req.method ?? 'GET',
      path: route.targetPath,
      headers,
      hasBody,
      ...(hasBody && contentLength !== undefined ? { contentLength } : {}),
      ...(codings && codings.length > 0 ? { codings } : {}),
      closeConnections: route.closeConnections,
      responseFields,
    });
    record.receivedBytes += result.receivedBytes;
    record.targetProcessingTime = result.targetTime;
    record.responseProcessingTime = result.targetStatus !== undefined ? (performance.now() - t) / 1000 - result.targetTime : -1;
    if (result.targetStatus !== undefined) record.targetStatusCode = result.targetStatus;
    if (result.clientClosed) return fail(FAILURES.clientClosed);
    if (result.failure) {
      if (res.headersSent) {
        record.elbStatusCode = result.targetStatus ?? result.failure.status;
        record.errorReason = result.failure.reason;
        return;
      }
      // ALB logs target_status_code only when the target sent a response.
      delete record.targetStatusCode;
      if (result.failure.side === 'gateway') delete record.target;
      return fail(result.failure);
    }
    record.elbStatusCode = result.targetStatus!;
    record.sentBytes = result.sentBytes;
  }

  /** A WebSocket upgrade: routed like any request, then tunnelled; any other upgrade is served as plain HTTP. */
  async #upgrade(listener: Listener, req: H1Request, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const created = new Date();
    const t0 = performance.now();
    const record = this.#newRecord(listener.protocol === 'https' ? 'wss' : 'ws', req.socket, created);
    const refuse = (failure: GatewayFailure, requestId = '-') => {
      const answer = rawFailure(failure.status, failure.reason, req.headers.accept, requestId);
      socket.end(answer.text);
      record.elbStatusCode = failure.status;
      record.errorReason = failure.reason;
      record.sentBytes = answer.bodyBytes;
    };
    try {
      const routed = this.#route(listener, req, record);
      if ('failure' in routed) return refuse(routed.failure);
      const { action, route } = routed;
      record.requestProcessingTime = (performance.now() - t0) / 1000;
      if (action.type !== 'forward') {
        // Fixed responses and redirects answer an upgrade request like any other, on a connection that then closes.
        const a = ownAnswer(action, listener, route);
        const answer = rawAnswer(a.status, a.fields, a.body);
        socket.end(answer.text);
        record.actionsExecuted = [action.type];
        record.elbStatusCode = a.status;
        record.sentBytes = answer.bodyBytes;
        if (a.redirectUrl) record.redirectUrl = a.redirectUrl;
        return;
      }
      record.actionsExecuted = ['forward'];
      // A session's upgrade goes where its cookie says (Socket.IO polls, then upgrades on the same target).
      const { group, target } = this.#stickyChoice(action, req.headers.cookie);
      record.targetGroup = `targetgroup/${group.name}`;
      if (!target) return refuse(FAILURES.noRegisteredTargets, route.requestId);
      record.target = target.address;
      const headers = targetFields(req, listener, route, this.#config.headerAttributes);
      headers.push('connection', 'Upgrade', 'upgrade', String(req.headers.upgrade));
      const result = await tunnel(socket, head, target, route.targetPath, headers);
      record.targetProcessingTime = result.targetTime;
      record.receivedBytes += result.receivedBytes;
      record.sentBytes = result.sentBytes;
      if (result.targetStatus !== undefined) {
        record.targetStatusCode = result.targetStatus;
        record.elbStatusCode = result.targetStatus;
        record.responseProcessingTime = 0;
      } else {
        const failure = classifyUpstreamError(result.error);
        if (failure.side === 'gateway') delete record.target;
        refuse(failure, route.requestId);
      }
    } catch {
      record.matchedRulePriority ??= -1;
      refuse(FAILURES.internalError);
    } finally {
      this.#log(record);
    }
  }

  /**
   * The target group and target for a forward, sticky sessions honoured (cluster/stickiness.ts): the group an
   * AWSALBTG cookie names if it is still one of the action's, the target an AWSALB / AWSALBAPP-0 cookie names while
   * it can take requests; and the cookies the answer then carries.
   */
  #stickyChoice(action: Extract<Action, { type: 'forward' }>, cookieHeader: string | string[] | undefined) {
    const tgDuration = action.stickinessDurationMs;
    const namedGroup = tgDuration !== undefined ? this.#sticky.open(cookieValue(cookieHeader, TG_COOKIE)) : undefined;
    const group = namedGroup !== undefined && action.targetGroups.some((g) => g.name === namedGroup) ? this.group(namedGroup) : this.#pickGroup(action.targetGroups);
    const stick = group.config.stickiness;
    const sealed = stick ? this.#sticky.open(cookieValue(cookieHeader, stick.type === 'lb_cookie' ? LB_COOKIE : APP_COOKIE)) : undefined;
    // The cookie names group and target, so a cookie of another group never picks a target here.
    const prefix = `${group.name}\n`;
    const target = group.choose(sealed?.startsWith(prefix) ? sealed.slice(prefix.length) : undefined);
    if (!target || (tgDuration === undefined && !stick)) return { group, target, responseFields: undefined };
    const responseFields = (raw: string[]): string[] => {
      const cookies: string[] = [];
      if (tgDuration !== undefined) cookies.push(...pairCookies(TG_COOKIE, TG_COOKIE_CORS, this.#sticky.seal(group.name), tgDuration));
      const value = this.#sticky.seal(prefix + target.id);
      if (stick?.type === 'lb_cookie') cookies.push(...pairCookies(LB_COOKIE, LB_COOKIE_CORS, value, stick.durationMs));
      else if (stick?.type === 'app_cookie' && stick.cookieName && setsCookie(raw, stick.cookieName)) cookies.push(...appCookies(value, stick.durationMs));
      return cookies.flatMap((c) => ['set-cookie', c]);
    };
    return { group, target, responseFields };
  }

  /** Weighted choice among a forward action's target groups (weights 0–999; 10 and 20 split 1:2). */
  #pickGroup(groups: Array<{ name: string; weight?: number }>): TargetGroup {
    if (groups.length === 1) return this.group(groups[0]!.name);
    const total = groups.reduce((n, g) => n + (g.weight ?? 1), 0);
    let r = Math.random() * total;
    for (const g of groups) {
      r -= g.weight ?? 1;
      if (r < 0) return this.group(g.name);
    }
    return this.group(groups[groups.length - 1]!.name);
  }

  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes every connection. */
  async close(graceMs = 10_000): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#listeners.map(
        (l) =>
          new Promise<void>((resolve) => {
            const force = setTimeout(() => {
              for (const c of l.h1) c.destroy();
              l.h2?.destroy();
            }, graceMs);
            l.h2?.close();
            l.server.close(() => {
              clearTimeout(force);
              resolve();
            });
            for (const c of l.h1) c.shutdown();
          }),
      ),
    );
    await Promise.all([...this.groups.values()].map((g) => g.close()));
    await this.#opts.accessLog.close();
  }
}
