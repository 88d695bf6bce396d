/**
 * The chunked transfer coding (RFC 9112 §7.1), decoded as bytes arrive — a client's request body and a target's
 * answer alike: chunk sizes in hex, extensions allowed and ignored (§7.1.1), each chunk's data ended by CRLF, then
 * the trailer section (§7.1.2). Errors carry llhttp's codes.
 */

import { trimOws } from './grammar.ts';

export class WireError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const CR = 13;
const LF = 10;
const HEX = /^[0-9A-Fa-f]{1,12}$/;
// eslint-disable-next-line no-control-regex -- a chunk extension holds no control character but HTAB
const BAD_EXT = /[\x00-\x08\x0a-\x1f\x7f]/;

type State = 'size' | 'data' | 'data-end' | 'trailers' | 'done';

export class ChunkedDecoder {
  #state: State = 'size';
  #remaining = 0;
  #trailerBytes = 0;
  readonly trailers: string[] = [];

  constructor(
    private readonly maxTrailerBytes: number,
    /** Reads one trailer line into name and value; the default keeps any name before a colon. */
    private readonly readField: (line: string) => [string, string] = lenientField,
  ) {}

  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * Decodes what `buf` holds from `at`, handing data to `onData`; returns where it stopped: at the end of the
   * body, or before a line that has not fully arrived (the caller keeps those bytes and calls again with more).
   */
  decode(buf: Buffer, at: number, onData: (chunk: Buffer) => void): number {
    while (at < buf.length && this.#state !== 'done') {
      switch (this.#state) {
        case 'size': {
          const eol = lineEnd(buf, at);
          if (eol < 0) {
            if (buf.length - at > 1024) throw new WireError('HPE_INVALID_CHUNK_SIZE', 'Chunk size line too long');
            return at;
          }
          const line = buf.toString('latin1', at, eol);
          const semi = line.indexOf(';');
          // BWS is allowed before an extension's `;`, nowhere else (§7.1.1).
          const size = semi < 0 ? line : line.slice(0, semi).replace(/[ \t]+$/, '');
          if (!HEX.test(size)) throw new WireError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size');
          if (semi >= 0 && BAD_EXT.test(line.slice(semi))) throw new WireError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk extensions');
          this.#remaining = parseInt(size, 16);
          this.#state = this.#remaining === 0 ? 'trailers' : 'data';
          at = eol + 2;
          break;
        }
        case 'data': {
          const n = Math.min(this.#remaining, buf.length - at);
          onData(buf.subarray(at, at + n));
          this.#remaining -= n;
          at += n;
          if (this.#remaining === 0) this.#state = 'data-end';
          break;
        }
        case 'data-end':
          if (buf.length - at < 2) return at;
          if (buf[at] !== CR || buf[at + 1] !== LF) throw new WireError('HPE_STRICT', 'Expected CRLF after chunk');
          at += 2;
          this.#state = 'size';
          break;
        case 'trailers': {
          const eol = lineEnd(buf, at);
          if (eol < 0) {
            if (this.#trailerBytes + buf.length - at > this.maxTrailerBytes) throw new WireError('HPE_HEADER_OVERFLOW', 'Trailer overflow');
            return at;
          }
          if (eol === at) {
            this.#state = 'done';
            return at + 2;
          }
          this.#trailerBytes += eol + 2 - at;
          if (this.#trailerBytes > this.maxTrailerBytes) throw new WireError('HPE_HEADER_OVERFLOW', 'Trailer overflow');
          this.trailers.push(...this.readField(buf.toString('latin1', at, eol)));
          at = eol + 2;
          break;
        }
      }
    }
    return at;
  }
}

function lenientField(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new WireError('HPE_INVALID_HEADER_TOKEN', 'Invalid trailer field');
  return [line.slice(0, colon), trimOws(line.slice(colon + 1))];
}

/** Index of the CRLF ending the line at `from`; -1 when it has not come; a bare LF is an error. */
function lineEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf(LF, from);
  if (i < 0) return -1;
  if (i === from || buf[i - 1] !== CR) throw new WireError('HPE_LF_EXPECTED', 'LF without CR');
  return i - 1;
}
