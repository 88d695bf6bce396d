/**
 * The gateway's HTTP/1.1 client to one target: keep-alive connections of its own and one exchange at a time on
 * each (no pipelining), answers read by response-parser.ts.
 *
 * Why not node:http's client: measured inside the gateway, forwarding through it cost ~45 µs of CPU per request
 * more than the same bytes over pooled sockets (docs/performance.md) — an options object merged per request by the
 * agent, a ClientRequest and an IncomingMessage with their stream states, a parser taken from a pool and a dozen
 * listeners. And not undici's: it drops the connection when a target sends an unsolicited 100 (RFC 9110 §15.2 asks
 * a proxy to forward it) and sends no request trailers.
 *
 * Connections: LIFO reuse (the warm one first), at most MAX_CONNECTIONS per target with later requests queued,
 * each idle one closed after ALB's idle timeout — or sooner when the target's `Keep-Alive: timeout=` says it will
 * close first (less a second), so the gateway, not the target, ends an idle connection; the other way round is the
 * keep-alive race that makes a load balancer answer 502 (RFC 9112 §9.5). The connect timeout is armed once per new
 * connection; the idle timeout applies to an exchange as ALB's does: no byte either way for that long ends it.
 *
 * A WebSocket upgrade (tunnel.ts) goes through the same client on a connection of its own, outside the pool and its
 * limit: once the target answers 101 the connection carries another protocol and is handed over, never reused.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ResponseParser, type ParserEvents } from './response-parser.ts';
import { TOKEN } from './wire/grammar.ts';

export const MAX_CONNECTIONS = 256;

export interface UpstreamOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxResponseHeaderBytes: number;
  /** At most this many connections at once (MAX_CONNECTIONS); later requests wait for one. */
  maxConnections?: number;
  /** Connection counts the gateway publishes (opened, open). */
  counts?: { opened: number; open: number } | undefined;
  /**
   * Speak TLS (a target group with `Protocol: HTTPS`). The target's certificate is not verified: ALB does not
   * validate the certificates of its targets (AWS, "Target groups for your Application Load Balancers" → "Routing
   * configuration"), so self-signed ones work, as they do on AWS.
   */
  tls?: boolean;
}

export interface ExchangeHandlers {
  informational(status: number, rawHeaders: string[]): void;
  head(status: number, rawHeaders: string[], contentLength: number | undefined): void;
  body(chunk: Buffer): void;
  end(rawTrailers: string[]): void;
  /** Once, and never after `end`. `code` says what failed (failures.ts maps it). */
  error(err: Error & { code?: string }): void;
  /**
   * An upgrade's answer was 101 (RFC 9110 §15.2.2): the connection is the handler's from now on — its socket, and
   * the bytes that came after the head. Neither `end` nor `error` follows.
   */
  switched?(rawHeaders: string[], socket: net.Socket, rest: Buffer): void;
}

const codeError = (code: string, message = code) => Object.assign(new Error(message), { code });

// A field name is a token (RFC 9110 §5.1); no value may hold CR, LF or NUL (§5.5) — or it would end the line.
const BAD_VALUE = /[\r\n\0]/;

/** The request line and fields as one string, ending with the blank line (RFC 9112 §3, §5). */
export function requestHead(method: string, path: string, headers: string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    // The gateway's own failure when it would write a broken request: a 500, never blamed on the target.
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw Object.assign(new Error(`invalid field ${JSON.stringify(name)}`), { code: 'ERR_INVALID_CHAR' });
    head += `${name}: ${value}\r\n`;
  }
  if (BAD_VALUE.test(path) || path.includes(' ')) throw Object.assign(new Error('invalid request target'), { code: 'ERR_INVALID_CHAR' });
  return `${head}\r\n`;
}


class Connection {
  exchange: Exchange | undefined;
  /** Handed over after a 101: the pool no longer reads, times or reuses it. */
  detached = false;
  #timeoutMs = 0;
  constructor(
    readonly socket: net.Socket,
    /** One of the pool's connections (counted against its limit), or an upgrade's own. */
    readonly pooled: boolean,
  ) {}

  /**
   * No byte either way for this long ends the connection's wait. Set only when it changes: each setTimeout() on a
   * socket makes a new timer, and every read and write restarts the one there is anyway.
   */
  idleTimeout(ms: number): void {
    if (ms === this.#timeoutMs) return;
    this.#timeoutMs = ms;
    this.socket.setTimeout(ms);
  }
}

/** One request and its answer on one connection. Writes before a connection is free are kept and sent then. */
export class Exchange {
  #conn: Connection | undefined;
  #queued: Array<string | Buffer> | undefined = [];
  #requestEnded = false;
  #settled = false;
  #trailers: string[] = [];
  /** The target's `Keep-Alive: timeout=` hint for this connection, in ms. */
  #hintMs: number | undefined;
  readonly #parser: ResponseParser;

  constructor(
    private readonly pool: Upstream,
    head: string,
    private readonly chunked: boolean,
    private readonly handlers: ExchangeHandlers,
    headRequest: boolean,
    maxHeadBytes: number,
    /** The request said `Connection: close`: its connection ends with it, whatever the answer says. */
    private readonly closeAfter: boolean,
  ) {
    this.#queued!.push(head);
    const events: ParserEvents = {
      informational: (s, h) => handlers.informational(s, h),
      head: (s, h, length) => {
        this.#hintMs = keepAliveHint(h);
        handlers.head(s, h, length);
      },
      body: (c) => handlers.body(c),
      end: (trailers) => {
        this.#trailers = trailers;
      },
    };
    if (handlers.switched) events.switched = (h, rest) => this.#switched(h, rest);
    this.#parser = new ResponseParser(events, maxHeadBytes, headRequest);
  }

  /** Body bytes; false when the connection's buffer is full (wait for `onDrain`). */
  write(chunk: Buffer): boolean {
    if (this.#settled || chunk.length === 0) return true;
    if (this.chunked) return this.#send(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    return this.#send(chunk);
  }

  /** The end of the request: for a chunked body the last chunk and any trailers (RFC 9112 §7.1.2). */
  end(rawTrailers?: string[]): void {
    if (this.#settled || this.#requestEnded) return;
    this.#requestEnded = true;
    if (!this.chunked) return;
    let tail = '0\r\n';
    if (rawTrailers) for (let i = 0; i < rawTrailers.length; i += 2) tail += `${rawTrailers[i]}: ${rawTrailers[i + 1]}\r\n`;
    this.#send(`${tail}\r\n`);
  }

  onDrain(f: () => void): void {
    if (this.#conn && !this.#conn.socket.destroyed) this.#conn.socket.once('drain', f);
    else f();
  }

  /** Backpressure from the client: stop reading the target until `resume` (only while the exchange runs). */
  pause(): void {
    if (this.#conn?.exchange === this) this.#conn.socket.pause();
  }

  resume(): void {
    if (this.#conn?.exchange === this) this.#conn.socket.resume();
  }

  /** Ends the exchange early, or reports its connection failed; the connection is closed (its state is unknown). */
  destroy(reason: Error): void {
    this.#fail(reason);
  }

  #send(...parts: Array<string | Buffer>): boolean {
    if (this.#queued) {
      this.#queued.push(...parts);
      return true;
    }
    const socket = this.#conn!.socket;
    if (parts.length === 1) return socket.write(parts[0]!, 'latin1');
    socket.cork();
    let ok = true;
    // false when any write found the buffer full: that one makes the socket emit 'drain' later.
    for (const p of parts) ok = socket.write(p, 'latin1') && ok;
    socket.uncork();
    return ok;
  }

  /** Called by the pool when a connection is this exchange's. */
  assign(conn: Connection): void {
    if (this.#settled) return this.pool.release(conn, false);
    this.#conn = conn;
    conn.exchange = this;
    const queued = this.#queued!;
    this.#queued = undefined;
    conn.idleTimeout(this.pool.options.idleTimeoutMs);
    conn.socket.cork();
    for (const p of queued) conn.socket.write(p, 'latin1');
    conn.socket.uncork();
  }

  /** Bytes from the target. */
  data(chunk: Buffer): void {
    try {
      this.#parser.execute(chunk);
    } catch (e) {
      return this.#fail(e as Error);
    }
    if (this.#parser.complete) this.#complete();
  }

  /** The target closed its side. */
  closed(): void {
    try {
      this.#parser.finishAtClose();
    } catch (e) {
      return this.#fail(e as Error);
    }
    this.#complete();
  }

  timedOut(): void {
    const conn = this.#conn;
    const code = conn?.socket.connecting ? 'TARGET_CONNECT_TIMEOUT' : this.#parser.beforeHead ? 'TARGET_HEADERS_TIMEOUT' : 'TARGET_BODY_TIMEOUT';
    this.#fail(codeError(code));
  }

  #complete(): void {
    if (this.#settled) return;
    this.#settled = true;
    const conn = this.#conn!;
    conn.exchange = undefined;
    // Reused only when both messages ended cleanly: an unfinished request would leave the target reading it.
    this.pool.release(conn, this.#parser.reusable && this.#requestEnded && !this.closeAfter, this.#hintMs);
    this.handlers.end(this.#trailers);
  }

  #switched(rawHeaders: string[], rest: Buffer): void {
    this.#settled = true;
    const conn = this.#conn!;
    conn.exchange = undefined;
    conn.detached = true;
    this.handlers.switched!(rawHeaders, conn.socket, rest);
  }

  #fail(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    const conn = this.#conn;
    if (conn) {
      conn.exchange = undefined;
      this.pool.release(conn, false);
    } else this.pool.dequeue(this);
    this.handlers.error(err);
  }
}

export class Upstream {
  readonly #idle: Connection[] = [];
  readonly #queue: Exchange[] = [];
  #count = 0;
  #closed = false;

  constructor(readonly options: UpstreamOptions) {}

  /**
   * Sends a request: `head` is its request line and fields, ending with the blank line; body bytes follow through
   * the exchange (`chunked` frames them). `handlers` see the answer.
   */
  request(head: string, opts: { chunked: boolean; headRequest: boolean; close?: boolean }, handlers: ExchangeHandlers): Exchange {
    const exchange = new Exchange(this, head, opts.chunked, handlers, opts.headRequest, this.options.maxResponseHeaderBytes, opts.close ?? false);
    const idle = this.#takeIdle();
    if (idle) exchange.assign(idle);
    else if (this.#count < (this.options.maxConnections ?? MAX_CONNECTIONS)) exchange.assign(this.#connect());
    else this.#queue.push(exchange);
    return exchange;
  }

  /**
   * Asks the target to upgrade (RFC 9110 §7.8) on a connection of its own, whatever the pool holds: `head` is the
   * request (no body); a 101 hands the connection to `handlers.switched`, any other answer comes as an exchange's.
   */
  upgrade(head: string, handlers: ExchangeHandlers): Exchange {
    const exchange = new Exchange(this, head, false, handlers, false, this.options.maxResponseHeaderBytes, true);
    exchange.assign(this.#connect(false));
    return exchange;
  }

  /** Closes the idle connections and fails the queued exchanges; running ones finish, then their connections close. */
  destroy(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) c.socket.destroy();
    for (const e of this.#queue.splice(0)) e.destroy(codeError('ECONNABORTED', 'target removed'));
  }

  /** An exchange is done with its connection: keep it for the next one, or close it. */
  release(conn: Connection, reusable: boolean, hintMs?: number): void {
    if (!reusable || !conn.pooled || this.#closed || conn.socket.destroyed) {
      conn.socket.destroy();
      return;
    }
    // An exchange may have paused it for a slow client: an idle connection must read, to see the target close.
    conn.socket.resume();
    const next = this.#queue.shift();
    if (next) return next.assign(conn);
    const idleMs = hintMs !== undefined ? Math.min(this.options.idleTimeoutMs, hintMs) : this.options.idleTimeoutMs;
    // A target that keeps a connection a second or less: not worth the race (and setTimeout(0) would mean never).
    if (idleMs <= 0) {
      conn.socket.destroy();
      return;
    }
    conn.idleTimeout(idleMs);
    this.#idle.push(conn);
  }

  dequeue(e: Exchange): void {
    const i = this.#queue.indexOf(e);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  #takeIdle(): Connection | undefined {
    for (let c = this.#idle.pop(); c; c = this.#idle.pop()) {
      if (!c.socket.destroyed && c.socket.readable) return c;
      c.socket.destroy();
    }
    return undefined;
  }

  #connect(pooled = true): Connection {
    const o = this.options;
    const socket = o.tls
      ? tls.connect({ host: o.host, port: o.port, ALPNProtocols: ['http/1.1'], rejectUnauthorized: false, ...(net.isIP(o.host) ? {} : { servername: o.host }) })
      : net.connect({ host: o.host, port: o.port, noDelay: true });
    if (o.tls) socket.setNoDelay(true);
    const conn = new Connection(socket, pooled);
    if (pooled) this.#count++;
    if (o.counts) {
      o.counts.opened++;
      o.counts.open++;
    }
    const timer = setTimeout(() => {
      if (conn.exchange) conn.exchange.timedOut();
      socket.destroy();
    }, o.connectTimeoutMs);
    // Over TLS, connecting ends with the handshake: a target that accepts and never shakes hands is not connected.
    socket.once(o.tls ? 'secureConnect' : 'connect', () => clearTimeout(timer));
    socket.on('data', (chunk: Buffer) => {
      if (conn.detached) return;
      if (conn.exchange) conn.exchange.data(chunk);
      // Bytes nobody asked for: the connection's state is unknown, so it is not used again.
      else socket.destroy();
    });
    socket.on('end', () => {
      if (conn.detached) return;
      if (conn.exchange) conn.exchange.closed();
      socket.destroy();
    });
    socket.on('timeout', () => {
      if (conn.detached) return;
      if (conn.exchange) conn.exchange.timedOut();
      socket.destroy();
    });
    socket.on('error', (err) => conn.exchange?.destroy(err));
    socket.on('close', () => {
      clearTimeout(timer);
      if (o.counts) o.counts.open--;
      conn.exchange?.destroy(codeError('ECONNRESET', 'socket hang up'));
      if (!pooled) return;
      this.#count--;
      const i = this.#idle.indexOf(conn);
      if (i >= 0) this.#idle.splice(i, 1);
      // A connection freed a place: a queued exchange gets a new one.
      const next = this.#queue.shift();
      if (next && !this.#closed) next.assign(this.#connect());
    });
    return conn;
  }
}

/** The target's `Keep-Alive: timeout=N`, less a second, in ms (how Node's agent reads the same hint). */
function keepAliveHint(raw: string[]): number | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'keep-alive') continue;
    const m = /(?:^|[,\s])timeout=(\d+)/i.exec(raw[i + 1]!);
    if (m) return Math.max(0, Number(m[1]) * 1000 - 1000);
  }
  return undefined;
}
