/**
 * Forwarding one request to one target over its keep-alive agent, and reading the answer back.
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
 * Built on node:http's client rather than undici: undici destroys the connection when a target sends a 100, and
 * refuses `Transfer-Encoding`, `Expect` and `Upgrade` in a forwarded request — each of those turned an ordinary
 * client request into a 502 blamed on a target that had done nothing wrong.
 */
import http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { classifyUpstreamError, FAILURES, type GatewayFailure } from './failures.ts';
import { connectionTokens, isHopByHop } from './headers.ts';
import { DeregistrationDelayElapsed, type Target } from './target-group.ts';

export const BUFFER_LIMIT = 256 * 1024;

export type ClientRequest = http.IncomingMessage | Http2ServerRequest;
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
  /** Neither connection may be reused after this exchange (an Ambiguous request in defensive mode). */
  closeConnections: boolean;
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

/** Errors of our own making, named by code so failures.ts can map them without knowing this file. */
function timeout(code: 'TARGET_CONNECT_TIMEOUT' | 'TARGET_HEADERS_TIMEOUT' | 'TARGET_BODY_TIMEOUT'): Error {
  return Object.assign(new Error(code), { code });
}

/**
 * The target's fields for the client, hop-by-hop ones out (RFC 9110 §7.6.1). For HTTP/1.1 a flat raw list in the
 * target's order and spelling, so repeated fields (three Set-Cookie) pass as they came and no header object is
 * built; HTTP/2's response API takes an object.
 */
function responseHeaders(upRes: http.IncomingMessage, h2: boolean): string[] | http.OutgoingHttpHeaders {
  const raw = upRes.rawHeaders;
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') connection = connection ? `${connection},${raw[i + 1]}` : raw[i + 1];
  const tokens = connectionTokens(connection);
  if (h2) {
    const out: http.OutgoingHttpHeaders = {};
    const all = upRes.headers;
    for (const k in all) if (all[k] !== undefined && !isHopByHop(k, tokens)) out[k] = all[k];
    return out;
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!isHopByHop(raw[i]!.toLowerCase(), tokens)) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/**
 * The target's Content-Length, read off the raw list: asking `upRes.headers` would build a header object for every
 * answer just for this. The parser refused a message with two differing values already (RFC 9112 §6.3).
 */
function contentLengthOf(raw: string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 14 && raw[i]!.toLowerCase() === 'content-length') return raw[i + 1];
  return undefined;
}

export function isHttp2(res: ClientResponse): res is Http2ServerResponse {
  return 'stream' in res;
}

/** writeHead for either protocol: HTTP/2 has no reason phrase (RFC 9113 §8.3.2) and no connection fields. */
export function writeHead(res: ClientResponse, status: number, headers: http.OutgoingHttpHeaders | string[], phrase?: string): void {
  if (isHttp2(res)) {
    if (!Array.isArray(headers)) delete headers.connection;
    res.writeHead(status, headers as http.OutgoingHttpHeaders);
  } else if (phrase) res.writeHead(status, phrase, headers);
  else res.writeHead(status, headers);
}

/** Sets `Connection: close` on an answer's fields, whichever shape they have. */
function closeAfter(headers: http.OutgoingHttpHeaders | string[]): void {
  if (Array.isArray(headers)) headers.push('connection', 'close');
  else headers.connection = 'close';
}

/** Passes a target's 1xx on (never to an HTTP/1.0 client: RFC 9110 §15.2). */
function forwardInformational(req: ClientRequest, res: ClientResponse, info: http.InformationEvent): void {
  if (res.headersSent || req.httpVersion === '1.0') return;
  if (info.statusCode === 100) res.writeContinue();
  else if (info.statusCode === 103) {
    const hints: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(info.headers)) if (v !== undefined) hints[k] = v;
    // Node writes a 103 only when it carries a Link field — the only thing early hints are for.
    res.writeEarlyHints(hints);
  } else if (info.statusCode === 102 && !isHttp2(res)) res.writeProcessing();
}

export function forward(req: ClientRequest, res: ClientResponse, target: Target, fwd: ForwardRequest): Promise<ProxyResult> {
  return new Promise<ProxyResult>((resolve) => {
    const t0 = performance.now();
    let up: http.ClientRequest | undefined;
    let abortReason: Error | undefined;
    let status = 0;
    let responded = false;
    let streaming = false;
    let sent = 0;
    let received = 0;
    let targetTime = -1;
    let done = false;
    let reqEnded = !fwd.hasBody;
    let forwarding = fwd.hasBody;
    let earlyAnswer = false;

    const abort = (reason: Error) => {
      if (done) return;
      abortReason ??= reason;
      up?.destroy(reason);
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
    res.on('close', onClose);
    const inFlight = target.begin(abort);

    // The gateway built these fields for this request alone: completed here, not copied.
    const headers = fwd.headers;
    if (fwd.hasBody) {
      if (fwd.contentLength !== undefined) headers.push('content-length', String(fwd.contentLength));
      else headers.push('transfer-encoding', 'chunked');
    }
    if (fwd.closeConnections) headers.push('connection', 'close');
    try {
      up = http.request({
        agent: target.agent,
        host: target.host,
        port: target.port,
        method: fwd.method,
        path: fwd.path,
        headers,
        setHost: false,
        maxHeaderSize: target.timeouts.maxResponseHeaderBytes,
        // RFC 9112 §6.3: the target's framing is read strictly; a lenient reading is how responses get smuggled.
        insecureHTTPParser: false,
        // The agent's own timeout: Node then arms nothing per request (target-group.ts).
        timeout: target.timeouts.idleTimeoutMs,
      });
    } catch (e) {
      // The gateway could not even write this request: its own failure, not the target's (failures.ts).
      return fail(e);
    }
    const request = up;
    // ALB's idle timeout: no byte either way for that long ends the exchange (504, or a cut once answering).
    request.on('timeout', () => {
      const connecting = request.socket?.connecting ?? false;
      request.destroy(timeout(connecting ? 'TARGET_CONNECT_TIMEOUT' : responded ? 'TARGET_BODY_TIMEOUT' : 'TARGET_HEADERS_TIMEOUT'));
    });
    request.on('error', fail);
    request.on('information', (info) => forwardInformational(req, res, info));
    request.on('response', (upRes) => {
      responded = true;
      status = upRes.statusCode ?? 0;
      targetTime = (performance.now() - t0) / 1000;
      const out = responseHeaders(upRes, isHttp2(res));
      if (!reqEnded) {
        // The target answered before the whole body arrived (a 413, a 401 to an upload): stop forwarding, and
        // close the client's connection after this answer so the unread rest cannot be taken for a new request
        // (RFC 9112 §9.6). The client is never left waiting.
        earlyAnswer = true;
        forwarding = false;
        closeAfter(out);
        req.resume();
      }
      if (fwd.closeConnections && !earlyAnswer) closeAfter(out);
      const length = contentLengthOf(upRes.rawHeaders);
      const noBody = fwd.method === 'HEAD' || status === 204 || status === 304;
      const buffered: Buffer[] | undefined = noBody || (length !== undefined && Number(length) <= BUFFER_LIMIT) ? [] : undefined;
      if (!buffered) {
        streaming = true;
        writeHead(res, status, out);
      }
      upRes.on('data', (chunk: Buffer) => {
        if (buffered) {
          buffered.push(chunk);
          return;
        }
        sent += chunk.length;
        if (!(res as http.ServerResponse).write(chunk)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => {
        if (done) return;
        if (!upRes.complete) return fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
        if (buffered) {
          // The target's Content-Length came with the fields: the body was read whole, so it is that long.
          const body = noBody ? undefined : Buffer.concat(buffered);
          writeHead(res, status, out);
          if (body) res.end(body);
          else res.end();
          sent = body?.length ?? 0;
        } else {
          const trailers = upRes.trailers;
          if (Object.keys(trailers).length > 0 && !isHttp2(res) && res.chunkedEncoding) res.addTrailers(trailers);
          res.end();
        }
        // A request whose body was never finished cannot leave its connection in a reusable state.
        if (earlyAnswer) request.destroy();
        if (earlyAnswer && isHttp2(res)) res.once('finish', () => (req as Http2ServerRequest).stream.close());
        finish({ targetStatus: status, sentBytes: sent, targetTime });
      });
      upRes.on('aborted', () => fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
      upRes.on('error', fail);
    });

    if (!fwd.hasBody) {
      request.end();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!forwarding) return;
      if (!request.write(chunk)) {
        req.pause();
        request.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      reqEnded = true;
      if (!forwarding) return;
      const trailers = req.trailers;
      if (fwd.contentLength === undefined && trailers && Object.keys(trailers).length > 0) request.addTrailers(trailers);
      request.end();
    });
  });
}
