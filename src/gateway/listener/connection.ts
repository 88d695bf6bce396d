/**
 * One client connection speaking HTTP/1.x (plain, or TLS whose ALPN chose http/1.1), read by the gateway itself.
 *
 * The first bytes of every request reach wire/head.ts as they came, so the classifier judges what the client sent,
 * not what a stricter parser let through. Per connection, as ALB does:
 *
 *  - one request at a time (RFC 9112 §9.3.2 lets a server answer pipelined requests in order; this one does not
 *    read the next head until the answer to the current one has gone out), so answers are always in request order,
 *    a request that arrived before bad bytes is answered before the 400, and a body is never read as a request;
 *  - a head must be complete within the idle timeout: 408 when part of one came, a quiet close when none did;
 *  - the connection is kept for another request as RFC 9112 §9.3 says (HTTP/1.1 unless `close`; HTTP/1.0 only with
 *    `keep-alive`), for no longer than the client keep-alive duration (ALB's `client_keep_alive.seconds`), and never
 *    after an answer that says `close`, a body whose length could not be known, or during shutdown;
 *  - `Expect: 100-continue` is answered with a 100 when the gateway first reads the body (RFC 9110 §10.1.1);
 *  - a WebSocket upgrade hands the socket over (to the request phases, which tunnel it); CONNECT is refused.
 *
 * Answers are written by response.ts straight to this connection's socket (status line, Date, framing, trailers,
 * 1xx), one per request. No `Keep-Alive` field is sent: ALB sends none.
 */
import type net from 'node:net';
import { lingeringClose } from '../../http/staged-close.ts';
import { isWebSocketUpgrade } from '../tunnel.ts';
import { ChunkedDecoder, WireError } from '../wire/chunked.ts';
import { requestFraming } from '../wire/framing.ts';
import { parseRequestHead } from '../wire/head.ts';
import { H1Request } from './request.ts';
import { H1Response } from './response.ts';

export interface ConnectionOptions {
  /** ALB's idle timeout: how long a head may take to arrive. */
  idleMs: number;
  /** ALB's client keep-alive duration: no request starts on the connection after it. */
  keepAliveMs: number;
  /** Request line and fields together. */
  maxHeadBytes: number;
  /** The gateway is shutting down: every answer closes its connection. */
  closing(): boolean;
}

export interface ConnectionHandlers {
  /** A request to answer on `res`; `expectationFailed` when it carried an Expect other than 100-continue. */
  request(req: H1Request, res: H1Response, expectationFailed: boolean): void;
  /** A WebSocket upgrade: the socket and the bytes after the head are the handler's from now on. */
  upgrade(req: H1Request, socket: net.Socket, head: Buffer): void;
  /** Answers a CONNECT on the socket; the connection then closes. */
  connect(req: H1Request, socket: net.Socket): void;
  /** Answers bytes that are no request (llhttp's code), or a head that did not arrive in time; the connection then closes. */
  refuse(socket: net.Socket, code: string, message: string): void;
}

type Phase = 'head' | 'body' | 'answer' | 'closed' | 'detached';

const EMPTY = Buffer.alloc(0);
const NO_TOKENS: readonly string[] = [];
// Bare line ends before a head: RFC 9112 §2.2 lets a server ignore them, so they are not a partial request.
const ONLY_LINE_ENDS = /^[\r\n]*$/;

export class H1Connection {
  #buf: Buffer = EMPTY;
  /** head: waiting for one; body: reading the current request's body; answer: body read, answer not yet sent. */
  #phase: Phase = 'head';
  #req: H1Request | undefined;
  #res: H1Response | undefined;
  #decoder: ChunkedDecoder | undefined;
  #remaining = 0;
  /** The answer went out before the body was read: the rest of the body is read and dropped. */
  #discard = false;
  #mustClose = false;
  #expectContinue = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #born = Date.now();

  constructor(
    readonly socket: net.Socket,
    private readonly opts: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    // Answers go out as they are written, not held back for more (Nagle's algorithm), as Node's HTTP server does.
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('error', () => {});
    socket.on('close', () => this.#onClose());
    this.#awaitHead();
  }

  /** No request in progress: nothing would be lost by closing now. */
  get idle(): boolean {
    return this.#phase === 'head' && ONLY_LINE_ENDS.test(this.#buf.toString('latin1', 0, 64));
  }

  /** Shutdown: an idle connection closes now; a busy one after its answer (opts.closing). */
  shutdown(): void {
    if (this.idle) return this.#close();
    // An answer not yet begun tells its client the connection ends with it.
    if (this.#res && !this.#res.headersSent) this.#res.shouldKeepAlive = false;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData = (chunk: Buffer): void => {
    if (this.#phase === 'closed' || this.#phase === 'detached') return;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#phase === 'head') this.#readHead();
    else if (this.#phase === 'body') this.#readBody();
    // Waiting for an answer: what came next waits too, up to one head's worth.
    else if (this.#buf.length > this.opts.maxHeadBytes) this.socket.pause();
  };

  /** A write of the current answer that found the buffer full: its drain (proxy.ts waits for it on the answer). */
  #onDrain = (): void => {
    const res = this.#res;
    if (res && !res.writableFinished) res.emit('drain');
  };

  #awaitHead(): void {
    this.#phase = 'head';
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#headTimeout(), this.opts.idleMs);
    if (this.#buf.length > 0) this.#readHead();
  }

  #headTimeout(): void {
    if (this.#phase !== 'head') return;
    if (this.idle) this.#close();
    else this.#refuse('ERR_HTTP_REQUEST_TIMEOUT', 'the request head did not arrive within the idle timeout');
  }

  #readHead(): void {
    const r = parseRequestHead(this.#buf, 0, this.opts.maxHeadBytes);
    if (r.kind === 'incomplete') return;
    if (r.kind === 'error') return this.#refuse(r.code, r.message);
    clearTimeout(this.#timer);
    this.#buf = this.#buf.subarray(r.end);
    const framing = requestFraming(r.head.fields);
    const req = new H1Request(r.head, framing, this.socket, () => this.#bodyWanted());

    if (req.method === 'CONNECT') {
      this.#phase = 'closed';
      this.handlers.connect(req, this.socket);
      return this.#close();
    }
    if (isWebSocketUpgrade(req.headers)) {
      this.#phase = 'detached';
      this.socket.off('data', this.#onData);
      this.socket.off('drain', this.#onDrain);
      this.socket.pause();
      const head = this.#buf;
      this.#buf = EMPTY;
      return this.handlers.upgrade(req, this.socket, head);
    }

    const res = new H1Response(this.socket, req, this.#answered);
    const connection = req.headers.connection;
    // Most requests name no Connection option, or only keep-alive: no list made for them.
    const tokens = connection === undefined ? NO_TOKENS : connection.toLowerCase().split(',').map((t) => t.trim());
    const persistent = req.httpVersionMajor === 1 && (req.httpVersionMinor >= 1 ? !tokens.includes('close') : tokens.includes('keep-alive'));
    // The body's length is unknown: nothing after this head can be read as a request. RFC 9112 §6.1: an HTTP/1.0
    // message with Transfer-Encoding is treated as faulty framing, the connection closed after it.
    this.#mustClose = framing.kind === 'invalid' || (framing.kind === 'chunked' && req.httpVersionMinor === 0);
    res.shouldKeepAlive = persistent && !this.#mustClose && !this.opts.closing() && Date.now() - this.#born < this.opts.keepAliveMs;
    this.#req = req;
    this.#res = res;
    this.#discard = false;
    this.#phase = 'body';
    this.#decoder = framing.kind === 'chunked' ? new ChunkedDecoder(this.opts.maxHeadBytes) : undefined;
    this.#remaining = framing.kind === 'length' ? framing.length : 0;
    // RFC 9110 §10.1.1: expectations are HTTP/1.1's; 100-continue is the only one there is.
    const expect = req.httpVersion === '1.1' ? req.headers.expect : undefined;
    this.#expectContinue = expect !== undefined && expect.trim().toLowerCase() === '100-continue';
    this.handlers.request(req, res, expect !== undefined && !this.#expectContinue);
    if (this.#phase === 'body') this.#readBody();
  }

  /** The request path reads the body: a client waiting on `Expect: 100-continue` is told to send it. */
  #bodyWanted(): void {
    if (this.#phase !== 'body') return;
    const res = this.#res;
    if (this.#expectContinue && res && !res.headersSent) {
      this.#expectContinue = false;
      res.writeContinue();
    }
    this.socket.resume();
  }

  #readBody(): void {
    const req = this.#req!;
    const deliver = (chunk: Buffer) => {
      if (chunk.length === 0 || this.#discard) return;
      if (!req.push(chunk)) this.socket.pause();
    };
    try {
      if (this.#decoder) {
        const at = this.#decoder.decode(this.#buf, 0, deliver);
        this.#buf = at === this.#buf.length ? EMPTY : this.#buf.subarray(at);
        if (this.#decoder.done) this.#bodyRead(this.#decoder.trailers);
      } else {
        const n = Math.min(this.#remaining, this.#buf.length);
        if (n > 0) {
          deliver(this.#buf.subarray(0, n));
          this.#buf = n === this.#buf.length ? EMPTY : this.#buf.subarray(n);
          this.#remaining -= n;
        }
        if (this.#remaining === 0) this.#bodyRead([]);
      }
    } catch (e) {
      // A body that breaks its own framing: nothing after it can be trusted, and the request cannot be finished.
      // The request path sees its client gone (ALB logs 460).
      if (e instanceof WireError) return void this.socket.destroy();
      throw e;
    }
  }

  #bodyRead(trailers: string[]): void {
    this.#phase = 'answer';
    // Reading on while the answer is awaited is how a client that hangs up is noticed (ALB's 460); #onData pauses
    // again once a head's worth of what follows is waiting.
    if (this.#buf.length <= this.opts.maxHeadBytes) this.socket.resume();
    if (this.#discard) this.#req!.complete = true;
    else this.#req!.finish(trailers);
    if (!this.#res) this.#next();
  }

  /** The answer's last bytes went to the socket (response.ts): the next request, or the end of the connection. */
  #answered = (res: H1Response): void => {
    if (this.#res !== res) return;
    const req = this.#req!;
    this.#res = undefined;
    if (this.#phase === 'closed') return;
    // The answer's head said `Connection: close` (or had to: a body only its end could delimit).
    const last = res.last;
    // Nobody was told to send a body that was never read: it will not come, and cannot be skipped.
    const unsent = this.#expectContinue && !req.complete;
    if (last || this.#mustClose || unsent || this.opts.closing()) return this.#close();
    if (this.#phase === 'answer') return this.#next();
    // Answered before the body ended (a fixed response, an early refusal the answer did not close on): the rest is
    // read and dropped, then the next request.
    this.#discard = true;
    this.socket.resume();
    this.#readBody();
  };

  #next(): void {
    this.#req = undefined;
    this.#decoder = undefined;
    this.socket.resume();
    this.#awaitHead();
  }

  #refuse(code: string, message: string): void {
    clearTimeout(this.#timer);
    this.#phase = 'closed';
    this.handlers.refuse(this.socket, code, message);
    this.#close();
  }

  /** Closes in stages (RFC 9112 §9.6): what the client still sends is read and dropped until it closes too. */
  #close(): void {
    clearTimeout(this.#timer);
    this.#phase = 'closed';
    this.#buf = EMPTY;
    lingeringClose(this.socket);
  }

  #onClose(): void {
    clearTimeout(this.#timer);
    this.#phase = 'closed';
    this.#buf = EMPTY;
    const req = this.#req;
    if (req && !req.complete) req.destroy();
    this.#res?.closed();
  }
}
