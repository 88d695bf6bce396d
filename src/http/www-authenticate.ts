/**
 * Bearer challenges (RFC 6750 §3) for WWW-Authenticate (RFC 9110 §11.6.1: a 401 MUST carry one).
 */
import crypto from 'node:crypto';

export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export interface BearerChallenge {
  realm?: string;
  /** Omitted when the request carried no credentials at all (RFC 6750 §3.1: SHOULD NOT include an error). */
  error?: BearerError;
  error_description?: string;
  scope?: string;
}

// auth-param values are quoted-strings (RFC 9110 §11.2, §5.6.4): escape backslash and double quote.
const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => '\\' + c)}"`;

export function formatBearerChallenge(c: BearerChallenge): string {
  const params: string[] = [];
  if (c.realm !== undefined) params.push(`realm=${quote(c.realm)}`);
  if (c.error !== undefined) params.push(`error=${quote(c.error)}`);
  if (c.error_description !== undefined) params.push(`error_description=${quote(c.error_description)}`);
  if (c.scope !== undefined) params.push(`scope=${quote(c.scope)}`);
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/**
 * Reads the first Bearer challenge of a WWW-Authenticate value into its parameters.
 * Tolerates token (unquoted) values and other schemes before it; undefined when there is no Bearer challenge.
 */
export function parseBearerChallenge(header: string | null | undefined): Record<string, string> | undefined {
  if (!header) return undefined;
  const at = header.search(/(^|[\s,])Bearer(\s|$)/i);
  if (at < 0) return undefined;
  const rest = header.slice(at).replace(/^[\s,]*Bearer/i, '');
  const params: Record<string, string> = {};
  const re = /\s*,?\s*([A-Za-z0-9_!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest))) {
    const name = m[1]!.toLowerCase();
    // A following scheme (`, Basic realm=…`) ends this challenge: its first token has no '=' and stops the sticky regex.
    params[name] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return params;
}

/**
 * Whether a request's Authorization field carries exactly `Bearer <token>`, compared in constant time, so the time
 * an answer takes says nothing about how much of a guess was right.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  return sameSecret(authorization ?? '', `Bearer ${token}`);
}

/** Two secrets compared in constant time (for equal lengths; a different length is simply not equal). */
export function sameSecret(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
