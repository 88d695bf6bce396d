/**
 * The gateway: an emulation of AWS's Application Load Balancer in front of the shop targets.
 *
 * This file holds the listeners and the places where requests enter. What happens to a request is not here: it is
 * the list of phases in phases/pipeline.ts (measure, checks, route, …, forward), run over one context per request
 * (phases/context.ts), answered through respond/ — the same for HTTP/1.x, HTTP/2 streams and WebSocket upgrades.
 *
 * Listeners: an HTTP listener speaks HTTP/1.x; an HTTPS listener negotiates HTTP/2 or HTTP/1.1 by ALPN (RFC 7301),
 * as ALB does by default, and always speaks HTTP/1.1 to targets. HTTP/1.x — plain, or TLS whose client chose
 * http/1.1 — is read by the gateway's own connection handler (listener/connection.ts), so the desync classifier
 * judges the bytes as they came; HTTP/2 is node:http2's.
 */
import http2, { type Http2ServerRequest } from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { H1Connection } from './listener/connection.ts';
import type { H1Request } from './listener/request.ts';
import type { AccessLog, AccessRecord, ConnectionType } from './access-log.ts';
import { connTraceId, leafOf, verifyFailure, type ConnectionLog } from './connection-log.ts';
import type { GatewayConfig, ListenerConfig } from './config.ts';
import { classifyParserError } from './desync.ts';
import { classifyClientError, FAILURES } from './failures.ts';
import type { ClientRequest, ClientResponse } from './proxy.ts';
import { compileRules } from './rules.ts';
import { AuthKeys, LOCAL_LB_ARN, type AuthFlow } from './authenticate-oidc.ts';
import { StickyCookies } from './cluster/stickiness.ts';
import { TargetGroup } from './cluster/target-group.ts';
import { ALB_LIMITS, normalizeGatewayConfig, type NormalizedGatewayConfig } from './limits.ts';
import { H2Sessions } from './listener/h2-sessions.ts';
import { admits } from './mtls.ts';
import { negotiated, tlsOptions, type TlsMaterial } from './tls-policy.ts';
import { clientAddress, RequestContext, type ListenerView, type Site } from './phases/context.ts';
import { runPhases } from './phases/pipeline.ts';
import { answerFailure, H1_RESPONSE, H2_STREAM, isHttp2, RAW_SOCKET } from './respond/answer.ts';

export interface GatewayOptions {
  config: GatewayConfig;
  host: string;
  /** The HTTPS listeners' certificates: the self-signed stand-in, and the user's own by ARN (tls-policy.ts). */
  tls?: TlsMaterial;
  accessLog: AccessLog;
  /** ALB's connection log (connection-log.ts): one line per client connection, at the end of its TLS handshake. */
  connectionLog?: ConnectionLog;
  /** Called once per request with its record (metrics). */
  onRecord?: (r: AccessRecord) => void;
  /** Requests one HTTP/2 connection carries before the gateway sends GOAWAY (ALB: 10,000; lower in tests). */
  http2MaxRequests?: number;
  /**
   * Receipt's additions to ALB's bytes, for the shop's lessons (`receipt start` turns them on): a problem document
   * instead of ALB's HTML page when the client prefers JSON, and X-Request-Id on forwarded requests and on the
   * gateway's own error answers. Off (ALB's bytes exactly) unless asked for: `receipt gateway --receipt-extras`.
   */
  receiptExtras?: boolean;
  /**
   * Sign-in (authenticate-oidc / -cognito rules): the ARN x-amzn-oidc-data names as its `signer` (a local one when
   * absent), and the port of the public-key endpoint (`publicKeysUrl`; a free port when absent).
   */
  auth?: { loadBalancerArn?: string; publicKeyPort?: number; /** ALB's 5 s unless a test needs less. */ endpointTimeoutMs?: number };
}

interface Listener extends ListenerView {
  config: ListenerConfig;
  /** The socket server: plain TCP, or TLS. */
  server: net.Server;
  /** Every HTTP/1.x connection of this listener, plain or decrypted. */
  h1: Set<H1Connection>;
  h2?: H2Sessions;
  port: number;
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
  /** Seals and opens sticky-session cookies (a key of this gateway's, made at start). */
  readonly #sticky = new StickyCookies();
  /** The sign-in keys, made when a rule first needs them (authenticate-oidc.ts). */
  #authKeys: AuthKeys | undefined;
  #publicKeys: { url: string; close(): Promise<void> } | undefined;
  /** What the request phases (phases/pipeline.ts) read of the gateway. */
  readonly #site: Site;
  #closing = false;

  constructor(opts: GatewayOptions) {
    this.#opts = opts;
    this.#config = normalizeGatewayConfig(opts.config);
    this.#idleMs = this.#config.idleTimeoutMs;
    this.#site = {
      extras: opts.receiptExtras ?? false,
      desync: this.#config.desyncMitigationMode,
      headerAttributes: this.#config.headerAttributes,
      hostName: opts.host,
      sticky: this.#sticky,
      group: (name) => this.group(name),
      log: (r) => this.#log(r),
    };
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

  /**
   * Where x-amzn-oidc-data's public key is served, by kid (`<url><kid>`), as ALB's regional public-key endpoint
   * serves it; undefined when no rule authenticates.
   */
  get publicKeysUrl(): string | undefined {
    return this.#publicKeys?.url;
  }

  /** The ARN x-amzn-oidc-data names as its `signer`: the one an app checks before it trusts the claims. */
  get loadBalancerArn(): string {
    return this.#opts.auth?.loadBalancerArn ?? LOCAL_LB_ARN;
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
    if (this.#authKeys) this.#publicKeys = await this.#authKeys.serve(this.#opts.host, this.#opts.auth?.publicKeyPort ?? 0);
  }

  #createListener(config: ListenerConfig, protocol: 'http' | 'https'): Listener {
    const rules = compileRules(config, () => (this.#authKeys ??= new AuthKeys({ signer: this.#opts.auth?.loadBalancerArn, endpointTimeoutMs: this.#opts.auth?.endpointTimeoutMs })));
    // The sign-in flows of this listener's rules, by id: the callback (/oauth2/idpresponse) finds its own by `state`.
    const flows = new Map<string, AuthFlow>(rules.flatMap((r) => (r.auth ? [[r.auth.id, r.auth] as const] : [])));
    const listener: Listener = {
      config,
      protocol,
      server: undefined as unknown as net.Server,
      h1: new Set(),
      rules,
      ...(flows.size ? { authFlows: flows } : {}),
      port: config.port,
      responseHeaders: Object.entries(config.responseHeaders ?? {}).flatMap(([name, value]) => (value === undefined ? [] : [name, value])),
      serverHeader: config.serverHeader !== false,
      mtlsMode: config.mutualAuthentication?.mode,
    };
    const h1 = (socket: net.Socket) => this.#serveHttp1(listener, socket);
    if (protocol === 'http') {
      listener.server = net.createServer((socket) => {
        this.#connectionLine(listener, socket, {});
        h1(socket);
      });
      return listener;
    }

    const h2 = http2.createServer({ settings: { maxConcurrentStreams: ALB_LIMITS.h2MaxStreams } });
    h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => this.#request(listener, req, res, 'h2', false));
    const sessions = new H2Sessions(h2, { idleMs: this.#idleMs, maxRequests: this.#opts.http2MaxRequests ?? ALB_LIMITS.h2MaxRequests });
    listener.h2 = sessions;
    const mtls = config.mutualAuthentication;
    const verify = mtls?.mode === 'verify';
    const store = verify && mtls.ignoreClientCertificateExpiry && mtls.trustStore ? this.#opts.tls!.trustStores?.[mtls.trustStore] : undefined;
    // When each connection's handshake began, for the connection log's tls_handshake_latency.
    const began = new WeakMap<net.Socket, number>();
    listener.server = tls.createServer({ ...tlsOptions(config, this.#opts.tls!), ALPNProtocols: this.#config.http2Enabled === false ? ['http/1.1'] : ['h2', 'http/1.1'] }, (socket) => {
      const handshake = { socket, began: began.get(parentOf(socket)) };
      // Verify mode: OpenSSL judged the client's certificate against the trust store during the handshake, and the
      // verdict is read here (mtls.ts asks Node not to act on it itself, which would close the connection without
      // saying why). IgnoreClientCertificateExpiry lets a certificate whose only fault is its dates through.
      if (verify && !socket.authorized && !(store && admits(socket, store))) {
        this.connections.tlsNegotiationErrors++;
        const leaf = leafOf(socket);
        const failed = leaf.subject === undefined ? 'ClientCertMissing' : verifyFailure(String(socket.authorizationError));
        this.#connectionLine(listener, socket, { ...handshake, leaf, failed });
        socket.destroy();
        return;
      }
      this.#connectionLine(listener, socket, { ...handshake, leaf: leafOf(socket) });
      if (socket.alpnProtocol === 'h2') sessions.accept(socket);
      else h1(socket);
    });
    listener.server.on('connection', (raw: net.Socket) => began.set(raw, performance.now()));
    // A client whose TLS handshake failed (ALB's ClientTLSNegotiationErrorCount): a protocol or cipher the security
    // policy does not offer, or no certificate where verify mode needs one. AWS logs such a connection with the
    // reason `UnmappedConnectionError` when no client certificate is involved.
    listener.server.on('tlsClientError', (_e: Error, socket: tls.TLSSocket) => {
      this.connections.tlsNegotiationErrors++;
      this.#connectionLine(listener, socket, { socket, began: began.get(parentOf(socket)), failed: 'UnmappedConnectionError' });
    });
    return listener;
  }

  /** The connection log's line for one client connection (connection-log.ts); TLS fields only for an HTTPS listener. */
  #connectionLine(
    listener: Listener,
    socket: net.Socket,
    tlsState: { socket?: tls.TLSSocket; began?: number | undefined; leaf?: ReturnType<typeof leafOf>; failed?: string },
  ): void {
    const log = this.#opts.connectionLog;
    if (!log) return;
    const t = tlsState.socket;
    // A failed handshake agreed on nothing; a refused certificate's handshake did finish, and its terms are logged.
    const terms = t && !(tlsState.failed && !tlsState.leaf) ? negotiated(t) : undefined;
    log.write({
      time: new Date(),
      clientIp: clientAddress(socket),
      clientPort: socket.remotePort,
      listenerPort: listener.port,
      ...(t
        ? {
            tlsProtocol: terms?.sslProtocol,
            tlsCipher: terms?.sslCipher,
            handshakeMs: tlsState.began === undefined ? undefined : performance.now() - tlsState.began,
            ...tlsState.leaf,
            verifyStatus: tlsState.failed ? `Failed:${tlsState.failed}` : 'Success',
          }
        : {}),
      connTraceId: connTraceId(socket),
    });
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
        request: (req, res, expectationFailed) => this.#request(listener, req, res, type, expectationFailed),
        upgrade: (req, s, head) => this.#upgrade(listener, req, s, head),
        connect: (req, s) => this.#connect(listener, req, s),
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

  /**
   * Where every request enters the phases (phases/pipeline.ts): an HTTP/1.x request or an HTTP/2 stream, answered
   * on its response object.
   */
  #request(listener: Listener, req: ClientRequest, res: ClientResponse, type: ConnectionType, expectationFailed: boolean): void {
    // The connection's own socket: an HTTP/2 stream's `req.socket` is a new proxy per stream, and what is kept per
    // connection (conn_trace_id, the client certificate's fields) must be the same for every stream of it.
    const socket = isHttp2(res) ? (req as Http2ServerRequest).stream.session?.socket ?? req.socket : req.socket;
    const ctx = new RequestContext(this.#site, listener, type, socket);
    ctx.req = req;
    ctx.res = res;
    ctx.responder = isHttp2(res) ? H2_STREAM : H1_RESPONSE;
    ctx.expectationFailed = expectationFailed;
    void runPhases(ctx);
  }

  /** A WebSocket upgrade: the same phases, answered on the raw socket; its forward opens a tunnel. */
  #upgrade(listener: Listener, req: H1Request, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const ctx = new RequestContext(this.#site, listener, listener.protocol === 'https' ? 'wss' : 'ws', req.socket);
    ctx.req = req;
    ctx.socket = socket;
    ctx.upgradeHead = head;
    ctx.responder = RAW_SOCKET;
    void runPhases(ctx);
  }

  /**
   * Bytes the head parser could not read as a request (wire/head.ts), or a head that did not come within the idle
   * timeout: the answer (400/408) on the socket, which then closes, and a log line with the desync classification of
   * what was refused.
   */
  #clientError(listener: Listener, socket: net.Socket, code: string, message: string): void {
    const ctx = new RequestContext(this.#site, listener, listener.protocol, socket);
    ctx.socket = socket;
    ctx.responder = RAW_SOCKET;
    const c = classifyParserError(code, message);
    if (c.tier !== 'Compliant') ctx.classification = c;
    answerFailure(ctx, classifyClientError(code, message));
    this.#log(ctx.toRecord());
  }

  /** CONNECT, refused on the bare socket (a reverse proxy opens no tunnels): a status and a log line. */
  #connect(listener: Listener, req: H1Request, socket: net.Socket): void {
    const ctx = new RequestContext(this.#site, listener, listener.protocol, socket);
    ctx.req = req;
    ctx.socket = socket;
    ctx.responder = RAW_SOCKET;
    ctx.requestLine = `${req.method} ${req.url} HTTP/${req.httpVersion}`;
    ctx.userAgent = req.headers['user-agent'] ?? '';
    answerFailure(ctx, FAILURES.connect);
    this.#log(ctx.toRecord());
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
    await this.#publicKeys?.close();
    await this.#opts.accessLog.close();
    await this.#opts.connectionLog?.close();
  }
}

/** The TCP socket under a server-side TLS socket (Node keeps it as `_parent`), where the handshake's start is kept. */
const parentOf = (socket: tls.TLSSocket): net.Socket => ((socket as unknown as { _parent?: net.Socket })._parent ?? socket);
