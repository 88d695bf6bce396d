/**
 * Forwarding one request to one target over the target's keep-alive connections (upstream.ts), and reading the
 * answer back.
 *
 * The request body is streamed as it arrives, never buffered whole: with its Content-Length when the client sent
 * one, otherwise chunked (RFC 9112 §7.1), whatever framing the client used — chunked, HTTP/2 DATA frames, or a
 * Content-Length. Request trailers travel with a chunked body.
 *
 * Small answers (a Content-Length up to BUFFER_LIMIT) are read whole before anything is sent to the client, so a
 * failure in the middle of the body can still become ALB's 502 or 504. Larger or chunked answers are streamed,
 * with backpressure; a failure after their head has gone out can only cut the connection.
 *
 * Interim answers are forwarded: RFC 9110 §15.2 — "A proxy MUST forward 1xx responses unless the proxy itself
 * requested the generation of the 1xx response". The gateway answers a client's `Expect: 100-continue` itself (as
 * ALB does) and never forwards Expect, so a target's own 100 is unsolicited; it is passed on all the same.
 *
 * The client is the gateway's own (upstream.ts, with response-parser.ts): undici destroys the connection when a
 * target sends a 100, and refuses `Transfer-Encoding`, `Expect` and `Upgrade` in a forwarded request — each of those
 * turned an ordinary client request into a 502 blamed on a target that had done nothing wrong — and node:http's
 * client, which did all of it right, cost ~45 µs of CPU per request more (docs/performance.md).
 */
import type http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { classifyUpstreamError, FAILURES, type GatewayFailure } from './failures.ts';
import { connectionTokens, isHopByHop } from './headers.ts';
import { DeregistrationDelayElapsed, type Target } from './cluster/target-group.ts';
import { requestHead, type Exchange } from './upstream.ts';
import type { H1Request } from './listener/request.ts';
import { isHttp2, writeHead } from './respond/answer.ts';

export const BUFFER_LIMIT = 256 * 1024;

export type ClientRequest = H1Request | http.IncomingMessage | Http2ServerRequest;
export type ClientResponse = http.ServerResponse | Http2ServerResponse;

export interface ForwardRequest {
  method: string;
  /** origin-form (or `*`), what the target's request line carries. */
  path: string;
  /** Flat raw fields (name, value, …) for the target; the proxy adds framing and Connection. */
  headers: string[];
  /** The client sends a body: a Content-Length above 0, chunked, or an HTTP/2 stream still open. */
  hasBody: boolean;
  /** The body's length when the client declared one; otherwise the body goes chunked. */
  contentLength?: number;
  /** Transfer codings the client applied before chunked (`gzip`): still on the body, so named to the target. */
  codings?: string[];
  /** Neither connection may be reused after this exchange (an Ambiguous request in defensive mode). */
  closeConnections: boolean;
  /** Fields the gateway adds to the target's answer (sticky-session cookies), given the answer's own fields. */
  responseFields?: (rawResponseFields: string[]) => string[];
}

export interface ProxyResult {
  targetStatus?: number;
  failure?: GatewayFailure;
  /** The client went away before the answer (ALB logs 460). */
  clientClosed?: boolean;
  /** Body bytes sent to the client. */
  sentBytes: number;
  /** Body bytes received from the client. */
  receivedBytes: number;
  /** Seconds from sending to the target until its response head (-1 when none). */
  targetTime: number;
  /** The target answered before the client had sent its whole body. */
  earlyAnswer: boolean;
}

class ClientClosed extends Error {}

/**
 * The target's fields for the client, hop-by-hop ones out (RFC 9110 §7.6.1). For HTTP/1.1 a flat raw list in the
 * target's order and spelling, so repeated fields (three Set-Cookie) pass as they came; HTTP/2's response API takes
 * an object (lower-case names, repeated fields joined, Set-Cookie as a list).
 */
function responseHeaders(raw: string[], h2: boolean): string[] | http.OutgoingHttpHeaders {
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') connection = connection ? `${connection},${raw[i + 1]}` : raw[i + 1];
  const tokens = connectionTokens(connection);
  if (h2) return fieldObject(raw, (name) => !isHopByHop(name, tokens));
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!isHopByHop(raw[i]!.toLowerCase(), tokens)) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/** A flat raw list as an object of lower-case names: repeated fields joined (RFC 9110 §5.3), Set-Cookie a list. */
function fieldObject(raw: string[], keep: (lowerName: string) => boolean = () => true): http.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!keep(name)) continue;
    const value = raw[i + 1]!;
    const prior = out[name];
    if (name === 'set-cookie') out[name] = prior ? [...(prior as string[]), value] : [value];
    else out[name] = prior === undefined ? value : `${prior as string}, ${value}`;
  }
  return out;
}

/** Adds fields (name, value, …) to an answer's, whichever shape they have; Set-Cookie stays a list. */
function addFields(headers: http.OutgoingHttpHeaders | string[], added: string[]): void {
  if (Array.isArray(headers)) {
    headers.push(...added);
    return;
  }
  for (let i = 0; i < added.length; i += 2) {
    const name = added[i]!.toLowerCase();
    const prior = headers[name];
    if (name === 'set-cookie') headers[name] = [...(prior === undefined ? [] : Array.isArray(prior) ? prior : [String(prior)]), added[i + 1]!];
    else headers[name] = added[i + 1]!;
  }
}

/** Sets `Connection: close` on an answer's fields, whichever shape they have. */
function closeAfter(headers: http.OutgoingHttpHeaders | string[]): void {
  if (Array.isArray(headers)) headers.push('connection', 'close');
  else headers.connection = 'close';
}

/** Passes a target's 1xx on (never to an HTTP/1.0 client: RFC 9110 §15.2). */
function forwardInformational(req: ClientRequest, res: ClientResponse, status: number, raw: string[]): void {
  if (res.headersSent || req.httpVersion === '1.0') return;
  if (status === 100) res.writeContinue();
  // Node writes a 103 only when it carries a Link field — the only thing early hints are for.
  else if (status === 103) res.writeEarlyHints(fieldObject(raw) as Record<string, string | string[]>);
  else if (status === 102 && !isHttp2(res)) res.writeProcessing();
}

export function forward(req: ClientRequest, res: ClientResponse, target: Target, fwd: ForwardRequest): Promise<ProxyResult> {
  return new Promise<ProxyResult>((resolve) => {
    const t0 = performance.now();
    let abortReason: Error | undefined;
    let status = 0;
    let streaming = false;
    let sent = 0;
    let received = 0;
    let targetTime = -1;
    let done = false;
    let reqEnded = !fwd.hasBody;
    let forwarding = fwd.hasBody;
    let earlyAnswer = false;
    let out: string[] | http.OutgoingHttpHeaders = [];
    let buffered: Buffer[] | undefined;
    let noBody = false;

    const abort = (reason: Error) => {
      if (done) return;
      abortReason ??= reason;
      exchange.destroy(reason);
    };
    const onClose = () => {
      if (!res.writableFinished) abort(new ClientClosed());
    };
    const finish = (r: Omit<ProxyResult, 'receivedBytes' | 'earlyAnswer'>) => {
      if (done) return;
      done = true;
      res.off('close', onClose);
      target.end(inFlight);
      resolve({ ...r, receivedBytes: received, earlyAnswer });
    };
    const fail = (err: unknown) => {
      if (done) return;
      if (abortReason instanceof ClientClosed) return finish({ clientClosed: true, sentBytes: 0, targetTime });
      const failure = abortReason instanceof DeregistrationDelayElapsed ? FAILURES.deregistrationDelay : classifyUpstreamError(abortReason ?? err);
      // Too late for a status once the head went out: the client sees its connection cut, as from ALB.
      if (streaming) res.destroy();
      finish({ failure, sentBytes: 0, targetTime, ...(streaming ? { targetStatus: status } : {}) });
    };
    // The gateway built these fields for this request alone: completed here, not copied.
    const headers = fwd.headers;
    if (fwd.hasBody) {
      if (fwd.contentLength !== undefined) headers.push('content-length', String(fwd.contentLength));
      else headers.push('transfer-encoding', fwd.codings ? `${fwd.codings.join(', ')}, chunked` : 'chunked');
    }
    if (fwd.closeConnections) headers.push('connection', 'close');
    let head: string;
    try {
      head = requestHead(fwd.method, fwd.path, headers);
    } catch (e) {
      // The gateway could not even write this request: its own failure, not the target's (failures.ts).
      return resolve({ failure: classifyUpstreamError(e), sentBytes: 0, targetTime, receivedBytes: 0, earlyAnswer: false });
    }
    const h2 = isHttp2(res);
    res.on('close', onClose);
    // The exchange's handlers run on later events, never during request(): `exchange` and `inFlight` are set by then.
    const exchange: Exchange = target.upstream.request(
      head,
      { chunked: fwd.hasBody && fwd.contentLength === undefined, headRequest: fwd.method === 'HEAD', close: fwd.closeConnections },
      {
        informational: (s, raw) => forwardInformational(req, res, s, raw),
        head: (s, raw, length) => {
          status = s;
          targetTime = (performance.now() - t0) / 1000;
          out = responseHeaders(raw, h2);
          const added = fwd.responseFields?.(raw);
          if (added?.length) addFields(out, added);
          if (!reqEnded) {
            // The target answered before the whole body arrived (a 413, a 401 to an upload): stop forwarding, and
            // close the client's connection after this answer so the unread rest cannot be taken for a new
            // request (RFC 9112 §9.6). The client is never left waiting.
            earlyAnswer = true;
            forwarding = false;
            closeAfter(out);
            req.resume();
          }
          if (fwd.closeConnections && !earlyAnswer) closeAfter(out);
          noBody = fwd.method === 'HEAD' || status === 204 || status === 304;
          buffered = noBody || (length !== undefined && length <= BUFFER_LIMIT) ? [] : undefined;
          if (!buffered) {
            streaming = true;
            writeHead(res, status, out);
          }
        },
        body: (chunk) => {
          if (buffered) {
            buffered.push(chunk);
            return;
          }
          sent += chunk.length;
          if (!(res as http.ServerResponse).write(chunk)) {
            exchange.pause();
            res.once('drain', () => exchange.resume());
          }
        },
        end: (trailers) => {
          if (done) return;
          if (buffered) {
            // The target's Content-Length came with the fields: the body was read whole, so it is that long.
            const body = noBody ? undefined : buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
            writeHead(res, status, out);
            if (body) res.end(body);
            else res.end();
            sent = body?.length ?? 0;
          } else {
            if (trailers.length > 0 && !h2 && (res as http.ServerResponse).chunkedEncoding) {
              const pairs: Array<[string, string]> = [];
              for (let i = 0; i < trailers.length; i += 2) pairs.push([trailers[i]!, trailers[i + 1]!]);
              res.addTrailers(pairs);
            }
            res.end();
          }
          // (A request whose body was never finished leaves its connection closed: upstream.ts does not reuse it.)
          if (earlyAnswer && h2) res.once('finish', () => (req as Http2ServerRequest).stream.close());
          finish({ targetStatus: status, sentBytes: sent, targetTime });
        },
        error: fail,
      },
    );
    const inFlight = target.begin(abort);

    if (!fwd.hasBody) {
      exchange.end();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!forwarding) return;
      if (!exchange.write(chunk)) {
        req.pause();
        exchange.onDrain(() => req.resume());
      }
    });
    req.on('end', () => {
      reqEnded = true;
      if (!forwarding) return;
      const trailers = req.rawTrailers;
      exchange.end(fwd.contentLength === undefined && trailers && trailers.length > 0 ? trailers : undefined);
    });
  });
}
