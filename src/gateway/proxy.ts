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
import type { InFlight } from './cluster/target.ts';
import { requestHead, type Exchange, type ExchangeHandlers } from './upstream.ts';
import type { H1Request } from './listener/request.ts';
import type { H1Response } from './listener/response.ts';
import { isHttp2, writeHead } from './respond/answer.ts';

export const BUFFER_LIMIT = 256 * 1024;

export type ClientRequest = H1Request | http.IncomingMessage | Http2ServerRequest;
export type ClientResponse = H1Response | Http2ServerResponse;
export type { H1Response };

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

/**
 * One request forwarded and its answer read back: the upstream exchange's handlers as methods, its state as fields —
 * made once per request, where a closure per event used to be (docs/performance.md).
 */
class Forwarding implements ExchangeHandlers {
  readonly #t0 = performance.now();
  readonly #h2: boolean;
  #exchange!: Exchange;
  #inFlight!: InFlight;
  #abortReason: Error | undefined;
  #status = 0;
  /** The answer's head went out before its body was read: too late for a status of the gateway's. */
  #streaming = false;
  #sent = 0;
  #received = 0;
  #targetTime = -1;
  #done = false;
  #reqEnded: boolean;
  /** The client's body still goes to the target (not after an early answer). */
  #forwarding: boolean;
  #earlyAnswer = false;
  #out: string[] | http.OutgoingHttpHeaders = [];
  /** The answer's body, when it is read whole before anything goes to the client. */
  #buffered: Buffer[] | undefined;
  #noBody = false;

  constructor(
    private readonly req: ClientRequest,
    private readonly res: ClientResponse,
    private readonly target: Target,
    private readonly fwd: ForwardRequest,
    private readonly resolve: (r: ProxyResult) => void,
  ) {
    this.#h2 = isHttp2(res);
    this.#reqEnded = !fwd.hasBody;
    this.#forwarding = fwd.hasBody;
  }

  start(): void {
    const { fwd, req, res } = this;
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
      return this.resolve({ failure: classifyUpstreamError(e), sentBytes: 0, targetTime: -1, receivedBytes: 0, earlyAnswer: false });
    }
    res.on('close', this.#onClose);
    // The exchange's handlers run on later events, never during request(): #exchange and #inFlight are set by then.
    this.#exchange = this.target.upstream.request(head, { chunked: fwd.hasBody && fwd.contentLength === undefined, headRequest: fwd.method === 'HEAD', close: fwd.closeConnections }, this);
    this.#inFlight = this.target.begin(this.#abort);
    if (!fwd.hasBody) {
      this.#exchange.end();
      return;
    }
    req.on('data', (chunk: Buffer) => this.#onData(chunk));
    req.on('end', () => this.#onEnd());
  }

  informational(status: number, raw: string[]): void {
    forwardInformational(this.req, this.res, status, raw);
  }

  head(status: number, raw: string[], length: number | undefined): void {
    const { fwd, res } = this;
    this.#status = status;
    this.#targetTime = (performance.now() - this.#t0) / 1000;
    const out = (this.#out = responseHeaders(raw, this.#h2));
    const added = fwd.responseFields?.(raw);
    if (added?.length) addFields(out, added);
    if (!this.#reqEnded) {
      // The target answered before the whole body arrived (a 413, a 401 to an upload): stop forwarding, and close
      // the client's connection after this answer so the unread rest cannot be taken for a new request (RFC 9112
      // §9.6). The client is never left waiting.
      this.#earlyAnswer = true;
      this.#forwarding = false;
      closeAfter(out);
      this.req.resume();
    }
    if (fwd.closeConnections && !this.#earlyAnswer) closeAfter(out);
    this.#noBody = fwd.method === 'HEAD' || status === 204 || status === 304;
    this.#buffered = this.#noBody || (length !== undefined && length <= BUFFER_LIMIT) ? [] : undefined;
    if (!this.#buffered) {
      this.#streaming = true;
      writeHead(res, status, out);
    }
  }

  body(chunk: Buffer): void {
    if (this.#buffered) {
      this.#buffered.push(chunk);
      return;
    }
    this.#sent += chunk.length;
    if (!(this.res as H1Response).write(chunk) && !this.#awaitingDrain) {
      // Paused, the parser still hands over what it had already read: one 'drain' listener for all of it.
      this.#awaitingDrain = true;
      this.#exchange.pause();
      this.res.once('drain', (this.#resumeTarget ??= () => {
        this.#awaitingDrain = false;
        this.#exchange.resume();
      }));
    }
  }

  end(trailers: string[]): void {
    if (this.#done) return;
    const res = this.res;
    const buffered = this.#buffered;
    if (buffered) {
      // The target's Content-Length came with the fields: the body was read whole, so it is that long.
      const body = this.#noBody ? undefined : buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
      writeHead(res, this.#status, this.#out);
      if (body) res.end(body);
      else res.end();
      this.#sent = body?.length ?? 0;
    } else {
      if (trailers.length > 0 && !this.#h2 && (res as H1Response).chunkedEncoding) {
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < trailers.length; i += 2) pairs.push([trailers[i]!, trailers[i + 1]!]);
        (res as H1Response).addTrailers(pairs);
      }
      res.end();
    }
    // (A request whose body was never finished leaves its connection closed: upstream.ts does not reuse it.)
    if (this.#earlyAnswer && this.#h2) res.once('finish', () => (this.req as Http2ServerRequest).stream.close());
    this.#finish({ targetStatus: this.#status, sentBytes: this.#sent, targetTime: this.#targetTime });
  }

  error(err: Error): void {
    if (this.#done) return;
    const reason = this.#abortReason;
    if (reason instanceof ClientClosed) return this.#finish({ clientClosed: true, sentBytes: 0, targetTime: this.#targetTime });
    const failure = reason instanceof DeregistrationDelayElapsed ? FAILURES.deregistrationDelay : classifyUpstreamError(reason ?? err);
    // Too late for a status once the head went out: the client sees its connection cut, as from ALB.
    if (this.#streaming) this.res.destroy();
    this.#finish({ failure, sentBytes: 0, targetTime: this.#targetTime, ...(this.#streaming ? { targetStatus: this.#status } : {}) });
  }

  /** `r` is made here for this request alone: completed in place, not copied. */
  #finish(r: Omit<ProxyResult, 'receivedBytes' | 'earlyAnswer'> & Partial<ProxyResult>): void {
    if (this.#done) return;
    this.#done = true;
    this.res.off('close', this.#onClose);
    this.target.end(this.#inFlight);
    r.receivedBytes = this.#received;
    r.earlyAnswer = this.#earlyAnswer;
    this.resolve(r as ProxyResult);
  }

  // Event listeners every request needs, bound once per request.
  #abort = (reason: Error): void => {
    if (this.#done) return;
    this.#abortReason ??= reason;
    this.#exchange.destroy(reason);
  };

  #onClose = (): void => {
    if (!this.res.writableFinished) this.#abort(new ClientClosed());
  };

  // Made only when an answer fills the client's buffer; the body's listeners only for a request that has a body
  // (start): a GET makes neither.
  #resumeTarget: (() => void) | undefined;
  #awaitingDrain = false;

  #onData(chunk: Buffer): void {
    this.#received += chunk.length;
    if (!this.#forwarding) return;
    if (!this.#exchange.write(chunk)) {
      this.req.pause();
      this.#exchange.onDrain(() => this.req.resume());
    }
  }

  #onEnd(): void {
    this.#reqEnded = true;
    if (!this.#forwarding) return;
    const trailers = this.req.rawTrailers;
    this.#exchange.end(this.fwd.contentLength === undefined && trailers && trailers.length > 0 ? trailers : undefined);
  }
}

export function forward(req: ClientRequest, res: ClientResponse, target: Target, fwd: ForwardRequest): Promise<ProxyResult> {
  return new Promise<ProxyResult>((resolve) => new Forwarding(req, res, target, fwd, resolve).start());
}
