/**
 * A request head read from the bytes a client sent, kept as it was received (RFC 9112 §2–§5).
 *
 * The parser is deliberately tolerant where the desync classifier needs to see what came: it does not refuse a
 * field name with a space or a control character in it, a bare CR or LF inside a value, an unknown method or a
 * strange version — those are judged by desync.ts and acted on as ALB's mitigation mode says. It refuses only what
 * cannot be read as a head at all, with llhttp's error codes so failures.ts and desync.ts name them one way:
 *
 *   - a head not ended by an empty line within the size limit (HPE_HEADER_OVERFLOW);
 *   - a request line without a space, or starting with one (HPE_INVALID_METHOD);
 *   - a field line without a colon (HPE_INVALID_HEADER_TOKEN);
 *   - LF LF: lines ended by bare LFs (HPE_LF_EXPECTED). RFC 9112 §2.2 lets a recipient accept a bare LF as a line
 *     end; this one does not, so a bare LF inside a line stays part of it and the classifier sees it (BadHeader).
 *
 * Lines end with CRLF only. Every line after the request line is a field line, one starting with whitespace too:
 * obs-fold (RFC 9112 §5.2) is read as a field whose name starts with whitespace, which the classifier calls
 * SuspiciousHeader, EmptyHeader or NonCompliantHeader — and which the gateway never forwards (its name is not a
 * token). Bytes are kept one-to-one in latin1 strings.
 */
import { trimOws } from './grammar.ts';

export interface RequestHead {
  /** The request line's parts (RFC 9112 §3): method up to the first space; version from the first ` HTTP/`. */
  method: string;
  target: string;
  /** `HTTP/1.1` as received, `''` when the line has none (HTTP/0.9 style). */
  version: string;
  /** Field lines in order: name and value (without its leading and trailing whitespace, RFC 9112 §5), flat. */
  fields: string[];
  /** Bytes of the request line, and of the whole head with its empty line. */
  lineBytes: number;
  headBytes: number;
}

export type HeadResult =
  | { kind: 'incomplete' }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'head'; head: RequestHead; end: number };

const CR = 13;
const LF = 10;

/** The index just past the empty line ending a head that starts at `from`, -1 when it has not come yet. */
function headEnd(buf: Buffer, from: number): number | 'bare-lf' {
  for (let i = buf.indexOf(LF, from); i >= 0; i = buf.indexOf(LF, i + 1)) {
    if (buf[i + 1] === LF) return 'bare-lf';
    if (buf[i - 1] === CR && buf[i + 1] === CR) {
      if (i + 2 >= buf.length) return -1;
      if (buf[i + 2] === LF) return i + 3;
    }
  }
  return -1;
}

/**
 * Reads one request head from `buf` at `from`. Empty lines before the request line are skipped (RFC 9112 §2.2:
 * "SHOULD ignore at least one empty line (CRLF) received prior to the request-line").
 */
export function parseRequestHead(buf: Buffer, from: number, maxBytes: number): HeadResult {
  let start = from;
  while (buf[start] === CR && buf[start + 1] === LF) start += 2;
  if (start >= buf.length || (buf[start] === CR && start + 1 >= buf.length)) return { kind: 'incomplete' };
  const end = headEnd(buf, start);
  if (end === 'bare-lf') return { kind: 'error', code: 'HPE_LF_EXPECTED', message: 'a line ended by a bare LF' };
  if (end < 0) return buf.length - start > maxBytes ? { kind: 'error', code: 'HPE_HEADER_OVERFLOW', message: 'Header overflow' } : { kind: 'incomplete' };
  if (end - start > maxBytes) return { kind: 'error', code: 'HPE_HEADER_OVERFLOW', message: 'Header overflow' };
  const lines = buf.toString('latin1', start, end - 4).split('\r\n');
  const line = lines[0]!;
  const sp = line.indexOf(' ');
  if (sp <= 0) return { kind: 'error', code: 'HPE_INVALID_METHOD', message: 'Invalid method' };
  const rest = line.slice(sp + 1);
  const v = rest.indexOf(' HTTP/');
  const fields: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const colon = l.indexOf(':');
    if (colon < 0) return { kind: 'error', code: 'HPE_INVALID_HEADER_TOKEN', message: 'Invalid header field' };
    fields.push(l.slice(0, colon), trimOws(l.slice(colon + 1)));
  }
  return {
    kind: 'head',
    head: {
      method: line.slice(0, sp),
      target: v < 0 ? rest : rest.slice(0, v),
      version: v < 0 ? '' : rest.slice(v + 1),
      fields,
      lineBytes: line.length + 2,
      headBytes: end - start,
    },
    end,
  };
}

/** `HTTP/x.y` → [x, y]; a version that does not start so counts as HTTP/0.9 (no persistent connection). */
export function versionNumbers(version: string): [number, number] {
  const m = /^HTTP\/(\d)\.(\d)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : [0, 9];
}

/**
 * A received string as the classifier reads it: bytes that are valid UTF-8 decoded as UTF-8 (so `ſ` and `ı` fold
 * the way they do in the guardian's tables), anything else left as its bytes.
 */
export function asText(latin1: string): string {
  // eslint-disable-next-line no-control-regex -- only strings with a byte above 0x7f can differ
  if (!/[^\x00-\x7f]/.test(latin1)) return latin1;
  const text = Buffer.from(latin1, 'latin1').toString('utf8');
  return text.includes('\ufffd') ? latin1 : text;
}
