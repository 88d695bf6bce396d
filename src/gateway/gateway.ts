/**
 * The gateway: ALB in front of the shop targets. Per request, in ALB's order (ALB.md §7): check the request
 * (400/405/463/501), match a listener rule, run its action (fixed-response, redirect, or forward to a target group:
 * 503 when nothing is registered), proxy, map any upstream failure (src/gateway/failures.ts), write the access log.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { AccessLog} from './access-log.ts';
import { type AccessRecord } from './access-log.ts';
import type { Action, GatewayConfig, ListenerConfig } from './config.ts';
import { albPhrase, errorPage } from './error-page.ts';
import { classifyClientError, FAILURES, type GatewayFailure } from './failures.ts';
import { appendForwardedFor, connectionTokens, forwardedCount, forwardedHost, isHopByHop, traceId, traceRoot } from './headers.ts';
import { forward } from './proxy.ts';
import { compileRules, matchRule, redirectUrl, type CompiledRule } from './rules.ts';
import { TargetGroup } from './target-group.ts';

/** ALB's request limits (ALB.md §4.2): request line 16 K, one header 16 K, all headers 64 K. */
const MAX_REQUEST_LINE = 16 * 1024;
const MAX_HEADER = 16 * 1024;
const MAX_HEADERS = 64 * 1024;
const MAX_FORWARDED = 30;

export interface GatewayOptions {
  config: GatewayConfig;
  host: string;
  tls?: { key: string; cert: string };
  accessLog: AccessLog;
  /** Called once per request with its record (metrics). */
  onRecord?: (r: AccessRecord) => void;
}

interface Listener {
  config: ListenerConfig;
  protocol: 'http' | 'https';
  server: http.Server | https.Server;
  rules: CompiledRule[];
  port: number;
}

export class Gateway {
  readonly groups = new Map<string, TargetGroup>();
  readonly #listeners: Listener[] = [];
  readonly #opts: GatewayOptions;
  #closing = false;

  constructor(opts: GatewayOptions) {
    this.#opts = opts;
    const idle = opts.config.idleTimeoutMs ?? 60_000;
    for (const g of opts.config.targetGroups) {
      const hc = g.healthCheck ?? {};
      const group = new TargetGroup(
        {
          name: g.name,
          algorithm: g.algorithm ?? 'round_robin',
          deregistrationDelayMs: g.deregistrationDelayMs ?? 300_000,
          healthCheck: {
            path: hc.path ?? '/',
            intervalMs: hc.intervalMs ?? 30_000,
            timeoutMs: hc.timeoutMs ?? 5_000,
            healthyThreshold: hc.healthyThreshold ?? 5,
            unhealthyThreshold: hc.unhealthyThreshold ?? 2,
            matcher: hc.matcher ?? '200',
          },
        },
        { connectTimeoutMs: opts.config.connectTimeoutMs ?? 10_000, idleTimeoutMs: idle, maxResponseHeaderBytes: 32 * 1024 },
      );
      for (const t of g.targets ?? []) group.register(t.id, t.host, t.port);
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
    for (const config of this.#opts.config.listeners) {
      const protocol = config.protocol === 'HTTPS' ? 'https' : 'http';
      if (protocol === 'https' && !this.#opts.tls) throw new Error('an HTTPS listener needs a certificate');
      // ALB's idle timeout applies to clients too: a request head not complete within it gets 408 (ALB.md §1.1).
      const idle = this.#opts.config.idleTimeoutMs ?? 60_000;
      const serverOpts = {
        maxHeaderSize: MAX_REQUEST_LINE + MAX_HEADERS,
        keepAliveTimeout: 65_000,
        headersTimeout: idle,
        requestTimeout: 0,
        connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(idle / 4))),
      };
      const server = protocol === 'https' ? https.createServer({ ...serverOpts, ...this.#opts.tls }) : http.createServer(serverOpts);
      const listener: Listener = { config, protocol, server, rules: compileRules(config), port: config.port };
      server.on('request', (req, res) => void this.#handle(listener, req, res));
      server.on('clientError', (err, socket) => this.#clientError(listener, err as NodeJS.ErrnoException, socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, this.#opts.host, () => resolve());
      });
      listener.port = (server.address() as net.AddressInfo).port;
      this.#listeners.push(listener);
    }
  }

  /** Requests the HTTP parser refused (ALB.md §1.1; the mapping is in failures.ts). */
  #clientError(listener: Listener, err: NodeJS.ErrnoException, socket: Duplex): void {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const failure = classifyClientError(err.code);
    const body = errorPage(failure.status, undefined, '-', failure.reason).body;
    socket.end(
      `HTTP/1.1 ${failure.status} ${albPhrase(failure.status)}\r\nServer: awselb/2.0\r\nDate: ${new Date().toUTCString()}\r\n` +
        `Content-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    const now = new Date();
    this.#log({
      type: listener.protocol,
      time: now,
      client: '-',
      requestProcessingTime: -1,
      targetProcessingTime: -1,
      responseProcessingTime: -1,
      elbStatusCode: failure.status,
      receivedBytes: 0,
      sentBytes: Buffer.byteLength(body),
      request: '- - - ',
      userAgent: '-',
      targetGroup: '-',
      traceId: '-',
      domainName: '-',
      requestCreationTime: now,
      actionsExecuted: [],
      errorReason: failure.reason,
    });
  }

  #log(r: AccessRecord): void {
    this.#opts.accessLog.write(r);
    this.#opts.onRecord?.(r);
  }

  async #handle(listener: Listener, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const created = new Date();
    const t0 = performance.now();
    const socket = req.socket;
    const clientIp = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    const host = hostHeader.replace(/:\d+$/, '');
    const trace = traceId(req.headers['x-amzn-trace-id'] as string | undefined);
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? traceRoot(trace);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const record: AccessRecord = {
      type: listener.protocol,
      time: created,
      client: `${clientIp}:${socket.remotePort}`,
      requestProcessingTime: -1,
      targetProcessingTime: -1,
      responseProcessingTime: -1,
      elbStatusCode: 0,
      receivedBytes: Number(req.headers['content-length'] ?? 0),
      sentBytes: 0,
      request: `${req.method} ${listener.protocol}://${hostHeader || '-'}${hostHeader.includes(':') ? '' : `:${listener.port}`}${url} HTTP/${req.httpVersion}`,
      userAgent: (req.headers['user-agent'] as string | undefined) ?? '',
      targetGroup: '-',
      traceId: trace,
      domainName: host,
      requestCreationTime: created,
      actionsExecuted: [],
    };
    const fail = (failure: GatewayFailure) => {
      const page = errorPage(failure.status, req.headers.accept, requestId, failure.reason);
      if (!res.headersSent && !res.destroyed && failure.status !== 460) {
        res.writeHead(failure.status, albPhrase(failure.status), {
          server: 'awselb/2.0',
          'content-type': page.contentType,
          'content-length': Buffer.byteLength(page.body),
          'x-request-id': requestId,
          ...(failure.status === 400 ? { connection: 'close' } : {}),
        });
        res.end(page.body);
        record.sentBytes = Buffer.byteLength(page.body);
      }
      record.elbStatusCode = failure.status;
      record.errorReason = failure.reason;
    };

    // While shutting down, every answer closes its connection, so keep-alive clients let go.
    if (this.#closing) res.setHeader('connection', 'close');
    try {
      // 1. The request itself (ALB.md §7.1).
      if (url.length > MAX_REQUEST_LINE) return fail(FAILURES.requestTooLarge);
      let total = 0;
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const size = req.rawHeaders[i]!.length + req.rawHeaders[i + 1]!.length + 4;
        if (size > MAX_HEADER) return fail(FAILURES.requestTooLarge);
        total += size;
      }
      if (total > MAX_HEADERS) return fail(FAILURES.requestTooLarge);
      if (req.method === 'TRACE') return fail(FAILURES.trace);
      const te = req.headers['transfer-encoding'];
      if (te !== undefined && !/^\s*(chunked|identity)\s*$/i.test(te)) return fail(FAILURES.transferEncoding);
      if (forwardedCount(req.headers["x-forwarded-for"]) > MAX_FORWARDED) return fail(FAILURES.tooManyForwarded);

      // 2. The rules.
      const rule = matchRule(listener.rules, req, { host, path, query, sourceIp: clientIp });
      record.matchedRulePriority = rule.priority;
      record.requestProcessingTime = (performance.now() - t0) / 1000;
      const action = rule.actions[rule.actions.length - 1]!;
      await this.#act(action, listener, req, res, record, { host, path, query, trace, requestId, clientIp, fail });
    } catch (e) {
      // An error inside the gateway itself: ALB logs priority -1 (ALB.md §4.3); the client gets a 502.
      record.matchedRulePriority ??= -1;
      fail({ status: 502, reason: `GatewayInternalError:${(e as Error).name}` });
    } finally {
      this.#log(record);
    }
  }

  async #act(
    action: Action,
    listener: Listener,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: AccessRecord,
    ctx: { host: string; path: string; query: string; trace: string; requestId: string; clientIp: string; fail: (f: GatewayFailure) => void },
  ): Promise<void> {
    if (action.type === 'fixed-response') {
      record.actionsExecuted = ['fixed-response'];
      const status = Number(action.statusCode);
      const body = action.messageBody ?? '';
      res.writeHead(status, { server: 'awselb/2.0', 'content-type': action.contentType ?? 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      record.elbStatusCode = status;
      record.sentBytes = Buffer.byteLength(body);
      return;
    }
    if (action.type === 'redirect') {
      record.actionsExecuted = ['redirect'];
      const location = redirectUrl(
        { ...action, protocol: action.protocol === '#{protocol}' ? undefined : action.protocol?.toLowerCase() },
        { protocol: listener.protocol, host: ctx.host, port: listener.port, path: ctx.path, query: ctx.query },
      );
      const status = action.statusCode === 'HTTP_301' ? 301 : 302;
      res.writeHead(status, { server: 'awselb/2.0', location, 'content-type': 'text/html', 'content-length': 0 });
      res.end();
      record.elbStatusCode = status;
      record.redirectUrl = location;
      return;
    }
    record.actionsExecuted = ['forward'];
    const group = this.#pickGroup(action.targetGroups);
    record.targetGroup = `targetgroup/${group.name}`;
    const target = group.choose();
    if (!target) return ctx.fail(FAILURES.noRegisteredTargets);
    record.target = target.address;

    // Request headers for the target (ALB.md §4.1): hop-by-hop out, X-Forwarded-*, the trace id.
    const tokens = connectionTokens(req.headers.connection);
    const headers: Record<string, string | string[]> = {};
    const incoming = req.headers;
    for (const k in incoming) {
      const v = incoming[k];
      if (v !== undefined && !isHopByHop(k, tokens)) headers[k] = v;
    }
    if (req.headers['transfer-encoding'] !== undefined) headers['transfer-encoding'] = 'chunked';
    const host = forwardedHost(req.headers.host, listener.protocol, listener.port);
    if (host !== undefined) headers.host = host;
    headers['x-forwarded-for'] = appendForwardedFor(req.headers['x-forwarded-for'], ctx.clientIp);
    headers['x-forwarded-proto'] = listener.protocol;
    headers['x-forwarded-port'] = String(listener.port);
    headers['x-amzn-trace-id'] = ctx.trace;
    headers['x-request-id'] = ctx.requestId;

    const t = performance.now();
    const result = await forward(req, res, target, headers);
    record.targetProcessingTime = result.targetTime;
    record.responseProcessingTime = result.targetStatus !== undefined ? (performance.now() - t) / 1000 - result.targetTime : -1;
    if (result.targetStatus !== undefined) record.targetStatusCode = result.targetStatus;
    if (result.clientClosed) return ctx.fail(FAILURES.clientClosed);
    if (result.failure) {
      if (res.headersSent) {
        record.elbStatusCode = result.targetStatus ?? result.failure.status;
        record.errorReason = result.failure.reason;
        return;
      }
      // ALB logs target_status_code only when the target sent a response (ALB.md §4.3).
      delete record.targetStatusCode;
      return ctx.fail(result.failure);
    }
    record.elbStatusCode = result.targetStatus!;
    record.sentBytes = result.sentBytes;
  }

  /** Weighted choice among a forward action's target groups (ALB.md §2.3: weights 0–999, 10/20 ⇒ 1:2). */
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
            const force = setTimeout(() => l.server.closeAllConnections(), graceMs);
            l.server.close(() => {
              clearTimeout(force);
              resolve();
            });
            l.server.closeIdleConnections();
          }),
      ),
    );
    await Promise.all([...this.groups.values()].map((g) => g.close()));
    await this.#opts.accessLog.close();
  }
}
