/**
 * HTTP desync classification, as ALB's desync mitigation mode does it.
 *
 * ALB classifies every HTTP/1.x request into four tiers with AWS's open-source http_desync_guardian and acts on the
 * tier according to the load balancer's `routing.http.desync_mitigation_mode` attribute
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode):
 *
 *   Compliant  — RFC 9112 conformant.
 *   Acceptable — not conformant, but no risk to request boundaries (a control character in an ordinary field).
 *   Ambiguous  — servers could disagree on where the request ends (RFC 9112 §6.3: both Transfer-Encoding and
 *                Content-Length, a body on GET, a field name that normalises to Transfer-Encoding).
 *   Severe     — framing that cannot be trusted (two different Content-Lengths, NUL or CR in a field).
 *
 * This module is a pure function over the request line and the header fields as received; the gateway acts on
 * its verdict (gateway.ts) and logs it in the access log's `classification` / `classification_reason` fields.
 * Its rules are tested against the guardian's published test table (test/fixtures/desync-cases.json).
 */

import { TOKEN } from './wire/grammar.ts';

export type Tier = 'Compliant' | 'Acceptable' | 'Ambiguous' | 'Severe';
export type DesyncMode = 'monitor' | 'defensive' | 'strictest';

export interface Classification {
  tier: Tier;
  /** The guardian's reason code (`Compliant` for a compliant request). */
  reason: string;
}

export interface RequestHead {
  method: string;
  uri: string;
  /** `HTTP/1.1`, `HTTP/1.0`, …; `''` for a request line without a version (HTTP/0.9). */
  version: string;
  /** Field name and value pairs in the order received (Node's `rawHeaders` shape, paired). */
  headers: ReadonlyArray<readonly [string, string]>;
}

const RANK: Record<Tier, number> = { Compliant: 0, Acceptable: 1, Ambiguous: 2, Severe: 3 };

export const COMPLIANT: Classification = { tier: 'Compliant', reason: 'Compliant' };

/** What ALB does with a request of each tier in each mode (the AWS page's table). */
export type Verdict = 'forward' | 'forward-then-close' | 'block';

export function verdict(mode: DesyncMode, tier: Tier): Verdict {
  if (tier === 'Compliant' || mode === 'monitor') return 'forward';
  if (mode === 'strictest') return 'block';
  // defensive: Acceptable passes; Ambiguous passes but neither connection is reused; Severe is refused.
  if (tier === 'Acceptable') return 'forward';
  return tier === 'Ambiguous' ? 'forward-then-close' : 'block';
}

// NUL, CR and LF inside a field or the target would end it early for some parsers: framing cannot be trusted.
const BREAKS_LINE = /[\0\r\n]/;
// Other control characters (HTAB is allowed whitespace inside field values, RFC 9110 §5.5). Matching control
// characters is the point of these two patterns.
// eslint-disable-next-line no-control-regex
const CTL_IN_VALUE = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const CTL_IN_URI = /[\x01-\x1f\x7f]/;
// Transfer codings registered with IANA (RFC 9112 §7); anything else is refused (ALB: 501).
const CODINGS = new Set(['chunked', 'compress', 'deflate', 'gzip', 'identity', 'x-gzip', 'x-compress']);

type Field = 'transfer-encoding' | 'content-length';

/**
 * Which framing field a name really is, or looks like. A name that only becomes `Transfer-Encoding` after case
 * folding of look-alike letters (`ſ`, `ı`), or after dropping delimiters and invisible characters, is one that some
 * parser in a chain may honour and another ignore: the heart of request smuggling.
 */
function framingField(name: string, isToken: boolean): { field: Field; exact: boolean } | undefined {
  const lower = name.toLowerCase();
  if (lower === 'transfer-encoding') return { field: 'transfer-encoding', exact: true };
  if (lower === 'content-length') return { field: 'content-length', exact: true };
  // Cheap refusal first (this runs for every field of every request): a plain token whose first character is a
  // letter or digit other than t/c, or that is too short, cannot fold to either name.
  if (isToken) {
    const c0 = lower.charCodeAt(0);
    const alnum = (c0 >= 97 && c0 <= 122) || (c0 >= 48 && c0 <= 57);
    if (lower.length < 13 || (alnum && c0 !== 116 && c0 !== 99)) return undefined;
  }
  // Upper-casing is what folds the look-alikes (`ı` → `I`, `ſ` → `S`); lower-casing leaves `ı` as it is.
  const folded = isToken ? lower.replace(/[^a-z0-9]/g, '') : name.normalize('NFKC').toUpperCase().replace(/[^A-Z0-9]/g, '').toLowerCase();
  if (folded === 'transferencoding') return { field: 'transfer-encoding', exact: false };
  if (folded === 'contentlength') return { field: 'content-length', exact: false };
  return undefined;
}

const OWS = /^[ \t]+|[ \t]+$/g;

/** Transfer-Encoding value: a list of codings with optional parameters; counts the `chunked` among them. */
function transferCodings(value: string): { ok: boolean; chunked: number } {
  if (/[^\x20-\x7e\t]/.test(value)) return { ok: false, chunked: 0 };
  let chunked = 0;
  for (const element of value.split(',')) {
    const [coding, ...params] = element.split(';').map((p) => p.replace(OWS, ''));
    if (coding === '' && params.length === 0) continue; // empty list elements are allowed (RFC 9110 §5.6.1)
    const name = (coding ?? '').toLowerCase();
    if (!CODINGS.has(name)) return { ok: false, chunked };
    if (params.some((p) => p !== '' && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(=.*)?$/.test(p))) return { ok: false, chunked };
    if (name === 'chunked') chunked++;
  }
  return { ok: true, chunked };
}

const MAX_U64 = 18446744073709551615n;

/** Content-Length value: one decimal number that fits 64 bits, optional whitespace around it (RFC 9110 §8.6). */
function contentLength(value: string): bigint | undefined {
  const v = value.replace(OWS, '');
  if (!/^[0-9]+$/.test(v)) return undefined;
  const n = BigInt(v);
  return n > MAX_U64 ? undefined : n;
}

/** Classifies one request head. The worst tier wins; among equals, the first found is the reason. */
export function classify(head: RequestHead): Classification {
  return classifyRaw(head.method, head.uri, head.version, head.headers.flat());
}

/** The same over Node's flat `rawHeaders` (name, value, name, value …): what the gateway calls per request. */
export function classifyRaw(method: string, uri: string, version: string, raw: readonly string[]): Classification {
  let worst: Classification = COMPLIANT;
  const note = (tier: Tier, reason: string) => {
    if (RANK[tier] > RANK[worst.tier]) worst = { tier, reason };
  };

  // The request line (RFC 9112 §3).
  if (!TOKEN.test(method)) note('Severe', 'BadMethod');
  if (BREAKS_LINE.test(uri)) note('Severe', 'BadUri');
  else if (CTL_IN_URI.test(uri)) note('Ambiguous', 'AmbiguousUri');
  else if (uri.includes(' ')) note('Acceptable', 'SpaceInUri');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') {
    if (version === '' || /^HTTP\/(0\.9|1\.[2-9])$/.test(version.trimEnd())) note('Acceptable', 'NonCompliantVersion');
    else if (/^HTTP\/1\.[01] +$/.test(version)) note('Acceptable', 'NonCompliantVersion');
    else note('Severe', 'BadVersion');
  }

  // Each field on its own.
  let te = 0;
  let chunked = 0;
  const lengths: bigint[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const isToken = TOKEN.test(name);
    if (!isToken && (name.trim() === '' || name.startsWith(':'))) {
      note('Ambiguous', 'EmptyHeader');
      continue;
    }
    if ((!isToken && BREAKS_LINE.test(name)) || BREAKS_LINE.test(value)) {
      note('Severe', 'BadHeader');
      continue;
    }
    const framing = framingField(name, isToken);
    if (framing && !framing.exact) note('Ambiguous', 'SuspiciousHeader');
    if (framing?.field === 'transfer-encoding') {
      te++;
      const codings = transferCodings(value);
      if (!codings.ok) note('Severe', 'BadTransferEncoding');
      chunked += codings.chunked;
      continue;
    }
    if (framing?.field === 'content-length') {
      const n = contentLength(value);
      if (n === undefined) note('Severe', 'BadContentLength');
      else lengths.push(n);
      continue;
    }
    if (!isToken || CTL_IN_VALUE.test(value)) note('Acceptable', 'NonCompliantHeader');
  }

  // The framing the fields add up to (RFC 9112 §6.1–6.3).
  if (chunked > 1) note('Severe', 'MultipleTransferEncodingChunked');
  if (lengths.length > 1) {
    if (lengths.some((n) => n !== lengths[0])) note('Severe', 'MultipleContentLength');
    else note('Ambiguous', 'DuplicateContentLength');
  }
  if (te > 0 && lengths.length > 0) note('Ambiguous', 'BothTeClPresent');
  const bodiless = method === 'GET' || method === 'HEAD';
  const old = version !== 'HTTP/1.1'; // chunked is HTTP/1.1's; a body length before HTTP/1.0 means nothing
  if (te > 0 && (bodiless || old)) note('Ambiguous', 'UndefinedTransferEncodingSemantics');
  if (lengths.length > 0) {
    if (bodiless) {
      if (lengths.every((n) => n === 0n)) note('Acceptable', 'GetHeadZeroContentLength');
      else note('Ambiguous', 'UndefinedContentLengthSemantics');
    } else if (old && version !== 'HTTP/1.0') note('Ambiguous', 'UndefinedContentLengthSemantics');
  }
  return worst;
}

/**
 * What Node's strict HTTP parser refused, in the guardian's terms. The parser stops at the first thing it cannot
 * accept, so these requests never reach `classify`; the gateway answers them 400 and closes (in every mode — a
 * request whose end cannot be found cannot be forwarded).
 */
export function classifyParserError(code: string | undefined, message = ''): Classification {
  switch (code) {
    case 'HPE_INVALID_TRANSFER_ENCODING':
      if (/Content-Length/i.test(message)) return { tier: 'Ambiguous', reason: 'BothTeClPresent' };
      return { tier: 'Severe', reason: 'BadTransferEncoding' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { tier: 'Severe', reason: 'MultipleContentLength' };
    case 'HPE_INVALID_CONTENT_LENGTH':
      return { tier: 'Severe', reason: 'BadContentLength' };
    case 'HPE_INVALID_METHOD':
      return { tier: 'Severe', reason: 'BadMethod' };
    case 'HPE_INVALID_URL':
      return { tier: 'Severe', reason: 'BadUri' };
    case 'HPE_INVALID_VERSION':
      return { tier: 'Severe', reason: 'BadVersion' };
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
      return { tier: 'Severe', reason: 'BadHeader' };
    default:
      return COMPLIANT;
  }
}
