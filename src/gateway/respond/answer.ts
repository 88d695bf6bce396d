/**
 * How the gateway answers by itself — a failure of its table (failures.ts), or an action's own answer
 * (fixed-response, redirect) — with one way per kind of client connection, used by every phase and every failure:
 *
 *   H1_RESPONSE  an HTTP/1.x request read by the connection handler: its answer (listener/response.ts: status line with ALB's
 *                phrase, Date, Content-Length; `Connection: close` when the connection must not be reused)
 *   H2_STREAM    an HTTP/2 stream: no reason phrase (RFC 9113 §8.3.2) and no connection-specific field (§8.2.2)
 *   RAW_SOCKET   a connection with no response object — bytes that are no request, CONNECT, a WebSocket upgrade:
 *                the whole answer as bytes, then the connection ends (RFC 9112 §9.6: `Connection: close`)
 *
 * Each is a stateless object reading the request's context: nothing is made per request to answer it.
 */
import type http from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import { albPhrase, errorPage } from '../error-page.ts';
import type { GatewayFailure } from '../failures.ts';
import type { ClientResponse, H1Response } from '../proxy.ts';

/** What a responder reads of the request it answers (phases/context.ts's RequestContext). */
export interface Answerable {
  /** Receipt's additions to ALB's bytes (problem documents, X-Request-Id), on for the shop's lessons only. */
  site: { readonly extras: boolean };
  /** The listener's header modification: fields added to every answer, and whether `Server` is sent. */
  listener: { readonly responseHeaders: string[]; readonly serverHeader: boolean };
  res: ClientResponse | undefined;
  socket: Duplex | undefined;
  req: { headers: { accept?: string | undefined } } | undefined;
  requestId: string | undefined;
  /** Neither connection is reused after this request (an Ambiguous request in defensive mode). */
  closeConnections: boolean;
  responder: Responder;
  status: number;
  sentBytes: number;
  failed(failure: GatewayFailure): void;
}

export interface Responder {
  /**
   * Sends a whole answer: status, fields (lower-case names), body. `phrase`: ALB's reason phrase, for its failures.
   * Returns the body's length in bytes, or -1 when the connection can no longer take an answer.
   */
  send(to: Answerable, status: number, fields: Fields, body: string, phrase: string | undefined, close: boolean): number;
}

/** An answer's own fields, lower-case names; a list for a field sent more than once (Set-Cookie, RFC 6265 §3). */
export type Fields = Record<string, string | string[]>;

export function isHttp2(res: ClientResponse): res is Http2ServerResponse {
  return 'stream' in res;
}

/** writeHead for either protocol: HTTP/2 has no reason phrase (RFC 9113 §8.3.2) and no connection fields. */
export function writeHead(res: ClientResponse, status: number, headers: http.OutgoingHttpHeaders | string[], phrase?: string): void {
  if (isHttp2(res)) {
    if (!Array.isArray(headers)) delete headers.connection;
    res.writeHead(status, headers as http.OutgoingHttpHeaders);
  } else res.writeHead(status, headers as string[], phrase);
}

/**
 * The fields of the gateway's own answer: `Server: awselb/2.0` unless the listener turned it off, the listener's
 * added response headers (ALB's header modification), then the answer's own.
 */
function ownFields(to: Answerable, fields: Fields, bytes: number): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = to.listener.serverHeader ? { server: 'awselb/2.0' } : {};
  const added = to.listener.responseHeaders;
  for (let i = 0; i < added.length; i += 2) out[added[i]!] = added[i + 1]!;
  return Object.assign(out, fields, { 'content-length': bytes });
}

/** Whether a response object can still take an answer, and the body's length if so (-1 if not). */
function writable(res: ClientResponse, body: string): number {
  return res.headersSent || res.destroyed ? -1 : Buffer.byteLength(body);
}

export const H1_RESPONSE: Responder = {
  send(to, status, fields, body, phrase, close) {
    const res = to.res as H1Response;
    const bytes = writable(res, body);
    if (bytes < 0) return bytes;
    const headers = ownFields(to, fields, bytes);
    // RFC 9112 §9.6: the answer says the connection ends with it; the connection handler then closes it.
    if (close) headers.connection = 'close';
    res.writeHead(status, headers as Record<string, string>, phrase);
    res.end(body);
    return bytes;
  },
};

export const H2_STREAM: Responder = {
  // No reason phrase (RFC 9113 §8.3.2), and no Connection field (§8.2.2): a stream ends, its connection goes on.
  send(to, status, fields, body) {
    const res = to.res as Http2ServerResponse;
    const bytes = writable(res, body);
    if (bytes < 0) return bytes;
    res.writeHead(status, ownFields(to, fields, bytes));
    res.end(body);
    return bytes;
  },
};

export const RAW_SOCKET: Responder = {
  send(to, status, fields, body) {
    const socket = to.socket!;
    if (socket.destroyed || !socket.writable) return -1;
    const bytes = Buffer.byteLength(body);
    let head = `HTTP/1.1 ${status} ${albPhrase(status)}\r\n${to.listener.serverHeader ? 'Server: awselb/2.0\r\n' : ''}Date: ${new Date().toUTCString()}\r\n`;
    const added = to.listener.responseHeaders;
    for (let i = 0; i < added.length; i += 2) if (!(added[i]! in fields)) head += `${added[i]}: ${added[i + 1]}\r\n`;
    for (const name in fields) for (const value of ([] as string[]).concat(fields[name]!)) head += `${name}: ${value}\r\n`;
    socket.end(`${head}Content-Length: ${bytes}\r\nConnection: close\r\n\r\n${body}`);
    return bytes;
  },
};

/**
 * A failure answered: ALB's page or a problem document (error-page.ts), with the request's id. A 400 closes the
 * connection — bytes after a refused request cannot be trusted as the next one — and so does any answer to a request
 * whose connections are not to be reused. `more`: fields the failure's answer needs (a 401's WWW-Authenticate). A client that closed first (460) is logged, not answered.
 */
export function answerFailure(to: Answerable, failure: GatewayFailure, more?: Fields): true {
  to.failed(failure);
  if (failure.status === 460) return true;
  const requestId = to.requestId ?? '-';
  const extras = to.site.extras;
  const page = errorPage(failure.status, to.req?.headers.accept, requestId, failure.reason, extras);
  const fields: Fields = extras ? { 'content-type': page.contentType, 'x-request-id': requestId } : { 'content-type': page.contentType };
  if (more) Object.assign(fields, more);
  const sent = to.responder.send(to, failure.status, fields, page.body, albPhrase(failure.status), failure.status === 400 || to.closeConnections);
  if (sent >= 0) to.sentBytes = sent;
  return true;
}

/** An answer the gateway gives itself by a rule's action (fixed-response, redirect). */
export function answerOwn(to: Answerable, status: number, fields: Fields, body: string): true {
  to.status = status;
  const sent = to.responder.send(to, status, fields, body, undefined, false);
  if (sent >= 0) to.sentBytes = sent;
  return true;
}
