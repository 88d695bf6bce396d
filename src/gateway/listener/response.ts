/**
 * The answer to one HTTP/1.x request, written by the gateway straight to its connection's socket — where Node's
 * `ServerResponse` used to be (a header object, validation passes and a writable stream's state per request, the
 * largest per-request cost left on the client side: docs/performance.md). It writes the bytes ServerResponse wrote:
 *
 *  - the status line (always `HTTP/1.1`, RFC 9112 §2.3: a server sends its highest minor version), the fields in the
 *    order and spelling given, then `Date` (RFC 9110 §6.6.1: an origin with a clock sends it; ALB does), then
 *    `Connection: keep-alive` or `close` unless a Connection field was given, then the framing (RFC 9112 §6):
 *    the given Content-Length; otherwise chunked (§7.1) for an HTTP/1.1 client, or — an HTTP/1.0 client cannot read
 *    chunked — the body delimited by closing the connection (§6.3 rule 8);
 *  - no body for HEAD, 204 and 304 (RFC 9110 §9.3.2, §15.3.5, §15.4.5), whatever is written;
 *  - trailers after the last chunk (RFC 9112 §7.1.2), only when the body went chunked;
 *  - interim answers (100, 102, 103) before the head (RFC 9110 §15.2).
 *
 * A head with a small body goes out in one write; a streamed body chunk by chunk, `write` returning false when the
 * socket's buffer is full and 'drain' emitted when it empties (the connection passes the socket's drain on).
 * 'finish' — the connection's cue to read the next request — comes when the last bytes were handed to the socket;
 * 'close' when the client's connection closed before that.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { TOKEN } from '../wire/grammar.ts';

/** Fields as a flat list (name, value, …) in the order they go out, or an object of names to values. */
export type ResponseFields = readonly string[] | Readonly<Record<string, string | number | readonly string[] | undefined>>;

/** What the answer needs to know of its request and connection. */
export interface AnswerContext {
  readonly method: string;
  readonly httpVersionMinor: number;
  readonly httpVersionMajor: number;
}

// RFC 9110 §5.5: a field value is visible characters, spaces and tabs (and obs-text); CR, LF and NUL would split
// the answer (response splitting). §5.1: a field name is a token.
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
// Node's test for a Connection field that ends the connection, and for a chunked transfer coding asked for.
const CONNECTION_CLOSE = /(?:^|\W)close(?:$|\W)/i;
const CHUNKED_CODING = /(?:^|\W)chunked(?:$|\W)/i;
// What writeHead saw among the fields given.
const CONNECTION = 1;
const FRAMED = 2;
const CHUNKED = 4;
const DATE = 8;

let dateSecond = -1;
let dateLine = '';

/** The Date field, made once a second. */
function date(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

function invalid(what: string, name: string): TypeError {
  return Object.assign(new TypeError(`Invalid character in ${what} ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
}

export class H1Response extends EventEmitter {
  /** The connection is kept for another request after this answer (the connection handler decides, before the head). */
  shouldKeepAlive = true;
  /** The answer said, or had to say, that the connection ends with it. */
  last = false;
  /** The head is written (or composed, to go out with the first body bytes): too late for another status. */
  headersSent = false;
  /** The body goes chunked. */
  chunkedEncoding = false;
  writableFinished = false;
  destroyed = false;
  readonly #hasBodyByMethod: boolean;
  #hasBody = true;
  /** The head, not yet written: it goes out with the first bytes of the body. */
  #head: string | undefined;
  #trailer = '';
  #seen = 0;
  #ended = false;

  constructor(
    readonly socket: net.Socket,
    private readonly req: AnswerContext,
    private readonly onFinish: (res: H1Response) => void,
  ) {
    super();
    this.#hasBodyByMethod = req.method !== 'HEAD';
  }

  /** `phrase`: the reason phrase (ALB's for its own failures); otherwise the status code's usual one. */
  writeHead(status: number, fields: ResponseFields, phrase?: string): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    this.#hasBody = this.#hasBodyByMethod && status !== 204 && status !== 304 && (status < 100 || status > 199);
    this.#seen = 0;
    let head = `HTTP/1.1 ${status} ${phrase ?? STATUS_CODES[status] ?? 'unknown'}\r\n`;
    if (Array.isArray(fields)) {
      const flat = fields as readonly string[];
      for (let i = 0; i < flat.length; i += 2) head += this.#field(flat[i]!, flat[i + 1]!);
    } else {
      const obj = fields as Readonly<Record<string, string | number | readonly string[] | undefined>>;
      for (const name in obj) {
        const value = obj[name];
        if (value === undefined) continue;
        if (typeof value !== 'object') head += this.#field(name, typeof value === 'number' ? String(value) : value);
        else for (const v of value) head += this.#field(name, v);
      }
    }
    const seen = this.#seen;
    if (!(seen & DATE)) head += date();
    // An HTTP/1.0 client reads chunked as the body (RFC 9112 §7): without a length its body ends with the connection.
    const canChunk = this.req.httpVersionMajor === 1 && this.req.httpVersionMinor >= 1;
    const framed = (seen & FRAMED) !== 0;
    if (!(seen & CONNECTION)) {
      if (this.shouldKeepAlive && (framed || canChunk)) head += 'Connection: keep-alive\r\n';
      else {
        this.last = true;
        head += 'Connection: close\r\n';
      }
    }
    let chunked = (seen & CHUNKED) !== 0;
    if (!framed && this.#hasBody) {
      if (canChunk) {
        head += 'Transfer-Encoding: chunked\r\n';
        chunked = true;
      } else this.last = true;
    }
    this.chunkedEncoding = chunked && this.#hasBody;
    this.#head = `${head}\r\n`;
    this.headersSent = true;
    return this;
  }

  /** One field line, checked (RFC 9110 §5.1, §5.5); the fields that shape framing and connection are noted. */
  #field(name: string, value: string): string {
    if (!TOKEN.test(name)) throw invalid('header name', name);
    if (BAD_VALUE.test(value)) throw invalid('header content', name);
    const n = name.length;
    // Lengths first: most names are none of these, and are not lower-cased.
    if (n === 10 || n === 14 || n === 17 || n === 4) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        this.#seen |= CONNECTION;
        if (CONNECTION_CLOSE.test(value)) this.last = true;
      } else if (lower === 'content-length') this.#seen |= FRAMED;
      else if (lower === 'transfer-encoding') this.#seen |= FRAMED | (CHUNKED_CODING.test(value) ? CHUNKED : 0);
      else if (lower === 'date') this.#seen |= DATE;
    }
    return `${name}: ${value}\r\n`;
  }

  /** Writes a piece of the body (after writeHead); false when the socket's buffer is full — wait for 'drain'. */
  write(chunk: Buffer): boolean {
    const socket = this.socket;
    if (socket.destroyed) return false;
    const head = this.#head ?? '';
    this.#head = undefined;
    if (!this.#hasBody || chunk.length === 0) return head ? socket.write(head, 'latin1') : true;
    if (!this.chunkedEncoding) {
      if (!head) return socket.write(chunk);
      socket.cork();
      socket.write(head, 'latin1');
      const ok = socket.write(chunk);
      socket.uncork();
      return ok;
    }
    socket.cork();
    socket.write(`${head}${chunk.length.toString(16)}\r\n`, 'latin1');
    socket.write(chunk);
    const ok = socket.write('\r\n', 'latin1');
    socket.uncork();
    return ok;
  }

  /** Ends the answer, with its last (or only) body: head and a small body in one write. */
  end(body?: Buffer | string): this {
    if (this.#ended) return this;
    this.#ended = true;
    const socket = this.socket;
    if (socket.destroyed) return this;
    const head = this.#head ?? '';
    this.#head = undefined;
    this.headersSent = true;
    const data = this.#hasBody && body !== undefined && body.length > 0 ? body : undefined;
    let out: Buffer | string;
    if (this.chunkedEncoding) {
      const tail = `0\r\n${this.#trailer}\r\n`;
      if (data) {
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        socket.cork();
        socket.write(`${head}${bytes.length.toString(16)}\r\n`, 'latin1');
        socket.write(bytes);
        socket.write(`\r\n${tail}`, 'latin1', this.#flushed);
        socket.uncork();
        return this;
      }
      out = head + tail;
    } else if (!data) out = head;
    else if (typeof data === 'string') {
      // The head's bytes are latin1 (RFC 9110 §5.5: a field value is octets); the page's text is UTF-8.
      const headBytes = head.length;
      const buf = Buffer.allocUnsafe(headBytes + Buffer.byteLength(data));
      buf.write(head, 0, 'latin1');
      buf.write(data, headBytes, 'utf8');
      out = buf;
    } else if (head) {
      const buf = Buffer.allocUnsafe(head.length + data.length);
      buf.write(head, 0, 'latin1');
      data.copy(buf, head.length);
      out = buf;
    } else out = data;
    if (typeof out === 'string') {
      if (out.length === 0) process.nextTick(this.#flushed);
      else socket.write(out, 'latin1', this.#flushed);
    } else socket.write(out, this.#flushed);
    return this;
  }

  /** Trailer fields, sent after the last chunk; an answer that is not chunked has nowhere to put them. */
  addTrailers(pairs: ReadonlyArray<readonly [string, string]>): void {
    for (const [name, value] of pairs) {
      if (!TOKEN.test(name)) throw invalid('trailer name', name);
      if (BAD_VALUE.test(value)) throw invalid('trailer content', name);
      this.#trailer += `${name}: ${value}\r\n`;
    }
  }

  /** 100 Continue: the client may send its body (RFC 9110 §10.1.1). */
  writeContinue(): void {
    this.#interim('HTTP/1.1 100 Continue\r\n\r\n');
  }

  /** 102 Processing (RFC 2518 §10.1), passed on from a target. */
  writeProcessing(): void {
    this.#interim('HTTP/1.1 102 Processing\r\n\r\n');
  }

  /**
   * 103 Early Hints (RFC 8297), passed on from a target: sent only when it carries a Link field — the only thing
   * early hints are for — as Node's server did.
   */
  writeEarlyHints(hints: Record<string, string | readonly string[]>): void {
    const link = hints.link;
    if (link === undefined || link.length === 0) return;
    let head = 'HTTP/1.1 103 Early Hints\r\n';
    // Link first, then the others; each name a token and each value free of CR, LF and other controls, as in writeHead.
    for (const name of ['link', ...Object.keys(hints).filter((n) => n !== 'link')]) {
      const given = hints[name]!;
      const value = typeof given === 'string' ? given : given.join(', ');
      if (!TOKEN.test(name)) throw invalid('header name', name);
      if (BAD_VALUE.test(value)) throw invalid('header content', name);
      head += `${name === 'link' ? 'Link' : name}: ${value}\r\n`;
    }
    this.#interim(`${head}\r\n`);
  }

  #interim(bytes: string): void {
    if (!this.headersSent && !this.socket.destroyed) this.socket.write(bytes, 'latin1');
  }

  /** Cuts the connection: the client sees its answer end early (a failure after the head went out). */
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.socket.destroy();
    }
    return this;
  }

  /** The connection closed before the answer was done (the connection handler tells). */
  closed(): void {
    if (this.writableFinished) return;
    this.destroyed = true;
    this.emit('close');
  }

  #flushed = (err?: Error | null): void => {
    // A write the socket could not take: the connection is gone, and 'close' tells.
    if (err || this.writableFinished) return;
    this.writableFinished = true;
    this.onFinish(this);
    if (this.listenerCount('close') > 0) this.emit('close');
  };
}
