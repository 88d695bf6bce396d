/**
 * How long a request's body is, from its fields (RFC 9112 §6.3), and what of a head may be forwarded.
 *
 * Only fields named exactly `Transfer-Encoding` and `Content-Length` (any case) frame a body: a name that merely
 * looks like one (`Transfer-Encoding ` with a space, `Content_Length`) is not a field of that name, and the
 * gateway never forwards it; the classifier (desync.ts) calls such a request Ambiguous, so in defensive mode
 * neither connection is reused after it.
 */
import { TOKEN, trimOws } from './grammar.ts';

export type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  /** `codings`: the transfer codings applied before the final chunked, which the target must still undo. */
  | { kind: 'chunked'; codings: string[] }
  /** The body's length cannot be known: the connection cannot carry anything after this head. */
  | { kind: 'invalid'; code: 'HPE_INVALID_TRANSFER_ENCODING' | 'HPE_INVALID_CONTENT_LENGTH' | 'HPE_UNEXPECTED_CONTENT_LENGTH' };

const DIGITS = /^[0-9]+$/;

export function requestFraming(fields: readonly string[]): Framing {
  let te: string[] | undefined;
  let length: number | undefined;
  let badLength: Framing | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      te ??= [];
      for (const element of fields[i + 1]!.split(',')) {
        const coding = element.split(';')[0]!.trim().toLowerCase();
        if (coding !== '') te.push(coding);
      }
    } else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      // RFC 9110 §8.6: one decimal number — or a list of the same one, which a recipient may take as that number;
      // different ones are an unrecoverable error (RFC 9112 §6.3 item 5).
      for (const element of fields[i + 1]!.split(',')) {
        const value = trimOws(element);
        if (!DIGITS.test(value) || value.length > 15) badLength ??= { kind: 'invalid', code: 'HPE_INVALID_CONTENT_LENGTH' };
        else if (length !== undefined && length !== Number(value)) badLength ??= { kind: 'invalid', code: 'HPE_UNEXPECTED_CONTENT_LENGTH' };
        else length = Number(value);
      }
    }
  }
  if (te !== undefined) {
    // RFC 9112 §6.3 item 3: Transfer-Encoding overrides Content-Length. Item 4: in a request, a final coding other
    // than chunked leaves the length unknown (ALB answers that 501: "Transfer-Encoding other than chunked").
    // RFC 9112 §6.1: chunked is applied once; a body chunked twice is one no target's parser reads.
    if (te.at(-1) !== 'chunked' || te.indexOf('chunked') !== te.length - 1) return { kind: 'invalid', code: 'HPE_INVALID_TRANSFER_ENCODING' };
    return { kind: 'chunked', codings: te.slice(0, -1).filter((c) => c !== 'identity') };
  }
  if (badLength) return badLength;
  return length === undefined ? { kind: 'none' } : { kind: 'length', length };
}

// RFC 9110 §5.5: CR, LF and NUL in a value are replaced by SP before forwarding (or the message refused); so is any
// other control character but HTAB, which no target's parser need accept.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this replaces
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex -- the same, every one of them
const CTLS = /[\x00-\x08\x0a-\x1f\x7f]/g;

/**
 * The fields the gateway works with and may forward: those whose name is a token, values with control characters
 * replaced by SP. What else came (a name with a space or a control character in it, an empty name) is seen by the
 * classifier and logged, and dropped here.
 */
export function forwardableFields(fields: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (!TOKEN.test(name)) continue;
    const value = fields[i + 1]!;
    out.push(name, CTL.test(value) ? value.replace(CTLS, ' ') : value);
  }
  return out;
}
