/**
 * Reading a target's answers on one connection: RFC 9112's message syntax, strictly.
 *
 * The gateway's upstream client (upstream.ts) feeds bytes in and gets events out: interim answers (1xx), the final
 * answer's head, body bytes, the end with any trailers. Strict where a lenient reading is how responses get
 * smuggled or split (RFC 9112 §11.2): a line ending is CRLF and nothing else, no whitespace between a field name
 * and its colon (§5.1), no obs-fold (§5.2), Content-Length is digits and said once, not beside Transfer-Encoding
 * (§6.3 item 3), chunk sizes are hex and a chunk's data ends with CRLF (§7.1). The same refusals Node's own
 * parser (llhttp) makes in its strict mode, with its error codes (`HPE_…`), so failures.ts maps them the same way.
 *
 * How long the body is (RFC 9112 §6.3): none for an answer to HEAD, for 1xx, 204 and 304; chunked when
 * Transfer-Encoding ends in chunked; until the connection closes when it ends in anything else or when neither
 * field is there; otherwise Content-Length.
 */

import { ChunkedDecoder, WireError } from './wire/chunked.ts';
import { TOKEN, trimOws } from './wire/grammar.ts';

export interface ParserEvents {
  informational(status: number, rawHeaders: string[]): void;
  /** The final answer's head; `contentLength` when its body is framed by one (RFC 9112 §6.3 item 6). */
  head(status: number, rawHeaders: string[], contentLength: number | undefined): void;
  body(chunk: Buffer): void;
  end(rawTrailers: string[]): void;
  /**
   * Only for a request that asked to upgrade: the target switched protocols (101, RFC 9110 §15.2.2). The answer ends
   * with its head; `rest` is what came after it, already the new protocol's. Without this event a 101 is an error.
   */
  switched?(rawHeaders: string[], rest: Buffer): void;
}

/** A malformed answer, with llhttp's code (the wire's error, under the name this parser's callers know). */
export { WireError as ParseError };

const CR = 13;
const LF = 10;
const KEEP_ALIVE: readonly string[] = ['keep-alive'];
// RFC 9110 §5.5: field-value characters are VCHAR, SP, HTAB and obs-text; no other control character.
// eslint-disable-next-line no-control-regex -- control characters are exactly what these refuse
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex -- a reason phrase holds no control character but HTAB
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;
type State = 'head' | 'length' | 'chunked' | 'close' | 'done' | 'switched';

export class ResponseParser {
  #state: State = 'head';
  #pending: Buffer | undefined;
  #remaining = 0;
  #keepAlive = true;
  #chunked: ChunkedDecoder | undefined;
  #switchedFields: string[] | undefined;

  constructor(
    private readonly events: ParserEvents,
    private readonly maxHeadBytes: number,
    /** The request was HEAD: its answer has no body whatever its fields say (RFC 9110 §9.3.2). */
    private readonly headRequest: boolean,
  ) {}

  /** The message ended and the connection may carry another (no close asked for, nothing read past its end). */
  get reusable(): boolean {
    return this.#state === 'done' && this.#keepAlive && this.#pending === undefined;
  }

  get complete(): boolean {
    return this.#state === 'done';
  }

  /** Before the final answer's head: nothing of the answer has reached the client yet. */
  get beforeHead(): boolean {
    return this.#state === 'head';
  }

  /** Feeds bytes; throws ParseError on a malformed answer. */
  execute(data: Buffer): void {
    const buf = this.#pending ? Buffer.concat([this.#pending, data]) : data;
    this.#pending = undefined;
    let at = 0;
    while (at < buf.length) {
      switch (this.#state) {
        case 'head': {
          // A partial head waits in #pending, so buf from `at` always holds the whole head read so far.
          const end = this.#findBlankLine(buf, at);
          if ((end < 0 ? buf.length : end + 4) - at > this.maxHeadBytes) throw new WireError('HPE_HEADER_OVERFLOW', 'Header overflow');
          if (end < 0) {
            this.#pending = buf.subarray(at);
            return;
          }
          this.#onHead(buf.toString('latin1', at, end));
          at = end + 4;
          if ((this.#state as State) === 'switched') return this.events.switched!(this.#switchedFields!, buf.subarray(at));
          break;
        }
        case 'length':
          at = this.#passBody(buf, at);
          if (this.#remaining === 0) this.#finish([]);
          break;
        case 'close':
          this.events.body(at === 0 ? buf : buf.subarray(at));
          return;
        case 'chunked': {
          const decoder = this.#chunked!;
          at = decoder.decode(buf, at, (chunk) => this.events.body(chunk));
          if (decoder.done) {
            this.#finish(decoder.trailers);
            break;
          }
          if (at < buf.length) this.#pending = buf.subarray(at);
          return;
        }
        case 'switched':
          // The connection is no longer HTTP's: whoever took it reads it now.
          return;
        case 'done':
          // Bytes after the end of the answer we asked for: nothing may follow on this connection.
          this.#pending = buf.subarray(at);
          return;
      }
    }
  }

  /** The connection closed: the end of a body read until close, or an answer cut short. */
  finishAtClose(): void {
    if (this.#state === 'close') return this.#finish([]);
    if (this.#state !== 'done') throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  }

  /** Hands on what `buf` holds of the #remaining body bytes from `at`; returns where they end. */
  #passBody(buf: Buffer, at: number): number {
    const n = Math.min(this.#remaining, buf.length - at);
    this.events.body(buf.subarray(at, at + n));
    this.#remaining -= n;
    return at + n;
  }

  #finish(trailers: string[]): void {
    this.#state = 'done';
    this.events.end(trailers);
  }

  /** Index of the CRLF CRLF ending a head that starts at `from`; a bare LF anywhere before it is an error. */
  #findBlankLine(buf: Buffer, from: number): number {
    for (let i = buf.indexOf(LF, from); i >= 0; i = buf.indexOf(LF, i + 1)) {
      if (i === from || buf[i - 1] !== CR) throw new WireError('HPE_LF_EXPECTED', 'LF without CR');
      if (i >= from + 3 && buf[i - 2] === LF && buf[i - 3] === CR) return i - 3;
    }
    return -1;
  }

  #fieldName(line: string): string {
    const colon = line.indexOf(':');
    // obs-fold (a line starting with whitespace) and whitespace before the colon are refused (RFC 9112 §5.1–5.2).
    if (colon <= 0) throw new WireError('HPE_INVALID_HEADER_TOKEN', 'Invalid header field');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new WireError('HPE_INVALID_HEADER_TOKEN', 'Invalid header token');
    return name;
  }

  #fieldValue(line: string, colon: number): string {
    const value = trimOws(line.slice(colon + 1));
    if (BAD_VALUE.test(value) || value.includes('\r')) throw new WireError('HPE_INVALID_HEADER_TOKEN', 'Invalid header value char');
    return value;
  }

  #onHead(text: string): void {
    const lines = text.split('\r\n');
    const m = STATUS_LINE.exec(lines[0]!);
    if (!m) throw new WireError(lines[0]!.startsWith('HTTP/') ? 'HPE_INVALID_STATUS' : 'HPE_INVALID_CONSTANT', 'Invalid status line');
    const minor = m[1]!;
    const status = Number(m[2]);
    if (status < 100) throw new WireError('HPE_INVALID_STATUS', 'Invalid status code');
    const raw: string[] = [];
    let contentLength: number | undefined;
    let transferEncoding: string | undefined;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const name = this.#fieldName(lines[i]!);
      const value = this.#fieldValue(lines[i]!, name.length);
      raw.push(name, value);
      const lower = name.length === 14 || name.length === 17 || name.length === 10 ? name.toLowerCase() : '';
      if (lower === 'content-length') {
        if (contentLength !== undefined) throw new WireError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length');
        if (!/^[0-9]{1,15}$/.test(value)) throw new WireError('HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length');
        contentLength = Number(value);
      } else if (lower === 'transfer-encoding') transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
      else if (lower === 'connection') connection = connection ? `${connection}, ${value}` : value;
    }
    if (status >= 100 && status < 200) {
      // 101 answers an Upgrade (RFC 9110 §7.8): an error unless this request asked for one (tunnel.ts).
      if (status === 101) {
        if (!this.events.switched) throw new WireError('HPE_INVALID_STATUS', 'Unexpected 101');
        this.#state = 'switched';
        this.#switchedFields = raw;
        return;
      }
      this.events.informational(status, raw);
      return;
    }
    if (contentLength !== undefined && transferEncoding !== undefined) {
      throw new WireError('HPE_UNEXPECTED_CONTENT_LENGTH', "Content-Length can't be present with Transfer-Encoding");
    }
    // The common answers (no Connection field, or `keep-alive` alone) make no list.
    const plain = connection === '' || connection.toLowerCase() === 'keep-alive';
    const tokens = plain ? (connection === '' ? [] : KEEP_ALIVE) : connection.toLowerCase().split(',').map((t) => t.trim());
    this.#keepAlive = minor === '1' ? !tokens.includes('close') : tokens.includes('keep-alive');
    const noBody = this.headRequest || status === 204 || status === 304;
    if (noBody) this.#state = 'done';
    else if (transferEncoding !== undefined) {
      const codings = transferEncoding.toLowerCase().split(',').map((t) => t.trim());
      if (codings.at(-1) === 'chunked') {
        this.#state = 'chunked';
        this.#chunked = new ChunkedDecoder(this.maxHeadBytes, (line) => {
          const name = this.#fieldName(line);
          return [name, this.#fieldValue(line, name.length)];
        });
      } else {
        this.#state = 'close';
        this.#keepAlive = false;
      }
    } else if (contentLength !== undefined) this.#state = contentLength === 0 ? 'done' : 'length';
    else {
      this.#state = 'close';
      this.#keepAlive = false;
    }
    this.#remaining = contentLength ?? 0;
    this.events.head(status, raw, this.#state === 'length' || this.#state === 'done' ? contentLength : undefined);
    if (this.#state === 'done') this.events.end([]);
  }
}
