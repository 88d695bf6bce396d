/**
 * The request target and the Host it names (RFC 9112 §3.2, RFC 9110 §7.2), read once per request.
 *
 *   origin-form    `/path?query`            — the usual; the Host field names the host.
 *   absolute-form  `http://host:port/path`  — the URI's authority wins over any Host field (RFC 9112 §3.2.2);
 *                                             rules match its path; the target gets origin-form and that Host.
 *   asterisk-form  `*`                      — OPTIONS only: the server as a whole (RFC 9112 §3.2.4).
 *   authority-form `host:port`              — CONNECT only; the gateway opens no tunnels (answered elsewhere).
 */

export type RequestTarget =
  | {
      ok: true;
      form: 'origin' | 'absolute' | 'asterisk';
      /** What rules match and the target's request line carries: origin-form, or `*`. */
      path: string;
      query: string;
      /** The authority of an absolute-form target (lower-cased), which replaces the Host field. */
      authority?: string;
    }
  | { ok: false; why: string };

// RFC 3986 §3.2.2 host: an IP literal in brackets, or reg-name / IPv4 characters; then an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

export function validHost(value: string): boolean {
  return HOST.test(value);
}

function splitQuery(pathAndQuery: string): { path: string; query: string } {
  const q = pathAndQuery.indexOf('?');
  return q < 0 ? { path: pathAndQuery, query: '' } : { path: pathAndQuery.slice(0, q), query: pathAndQuery.slice(q + 1) };
}

export function parseRequestTarget(method: string, url: string): RequestTarget {
  if (url.startsWith('/')) return { ok: true, form: 'origin', ...splitQuery(url) };
  if (url === '*') {
    return method === 'OPTIONS' ? { ok: true, form: 'asterisk', path: '*', query: '' } : { ok: false, why: 'only OPTIONS may use the asterisk form' };
  }
  const m = /^(https?):\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (!m) return { ok: false, why: 'the request target is neither origin-form nor an http(s) URI' };
  const authority = m[2]!.toLowerCase();
  // RFC 9110 §4.2.4: userinfo in an http(s) URI is an error for a recipient to reject.
  if (authority.includes('@')) return { ok: false, why: 'userinfo in the request target' };
  if (authority === '' || !validHost(authority)) return { ok: false, why: 'the request target names no valid host' };
  const rest = m[3] || '/';
  const pathAndQuery = rest.startsWith('?') ? `/${rest}` : rest;
  return { ok: true, form: 'absolute', authority, ...splitQuery(pathAndQuery) };
}

/**
 * The Host a request names, or why it is refused. HTTP/1.1 needs exactly one valid Host field (RFC 9112 §3.2:
 * "A server MUST respond with a 400 … to any HTTP/1.1 request message that lacks a Host header field and to any
 * request message that contains more than one Host header field line or a Host header field with an invalid
 * field value"). HTTP/1.0 may omit it. An absolute-form authority replaces it.
 */
export function requestHost(rawHeaders: readonly string[], httpVersion: string, authority: string | undefined): { ok: true; host: string } | { ok: false } {
  let host: string | undefined;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      count++;
      host = rawHeaders[i + 1]!;
    }
  }
  if (count > 1 || (host !== undefined && !validHost(host))) return { ok: false };
  if (authority !== undefined) return { ok: true, host: authority };
  if (host === undefined) return httpVersion === '1.0' ? { ok: true, host: '' } : { ok: false };
  return { ok: true, host: host.toLowerCase() };
}
