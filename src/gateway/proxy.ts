/**
 * Forwarding one request to one target over its keep-alive pool, and reading the answer back.
 *
 * Small answers (a Content-Length up to BUFFER_LIMIT) are read whole before anything is sent to the client, so a
 * failure in the middle of the body can still become ALB's 502 or 504 (ALB.md §1.2 #3, §1.3 #4). Larger or
 * chunked answers are streamed, with backpressure; a failure after their head has gone out can only cut the
 * connection.
 *
 * Built on undici's `dispatch` with a handler rather than `request`: the handler's controller is how a request is
 * aborted (client gone, drain over), and it avoids an AbortSignal per request, which measured at about 70 µs of CPU
 * per proxied request here — a third of the gateway's cost.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { classifyUpstreamError, FAILURES, type GatewayFailure } from './failures.ts';
import { connectionTokens, isHopByHop } from './headers.ts';
import { DeregistrationDelayElapsed, type Target } from './target-group.ts';

export const BUFFER_LIMIT = 256 * 1024;

export interface ProxyResult {
  targetStatus?: number;
  failure?: GatewayFailure;
  /** The client went away before the answer (ALB logs 460). */
  clientClosed?: boolean;
  sentBytes: number;
  /** Seconds from sending to the target until its response head (-1 when none). */
  targetTime: number;
}

class ClientClosed extends Error {}

function responseHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const tokens = connectionTokens(raw.connection);
  const out: Record<string, string | string[]> = {};
  for (const k in raw) {
    const v = raw[k];
    if (v !== undefined && !isHopByHop(k, tokens)) out[k] = v;
  }
  return out;
}

export function forward(req: IncomingMessage, res: ServerResponse, target: Target, headers: Record<string, string | string[]>): Promise<ProxyResult> {
  return new Promise<ProxyResult>((resolve) => {
    const t0 = performance.now();
    let controller: Dispatcher.DispatchController | undefined;
    let abortReason: Error | undefined;
    let status = 0;
    let out: Record<string, string | string[]> = {};
    let buffered: Buffer[] | undefined;
    let noBody = false;
    let streaming = false;
    let sent = 0;
    let targetTime = -1;
    let done = false;

    const abort = (reason: Error) => {
      if (done) return;
      abortReason ??= reason;
      controller?.abort(reason);
    };
    const onClose = () => {
      if (!res.writableFinished) abort(new ClientClosed());
    };
    const finish = (r: ProxyResult) => {
      if (done) return;
      done = true;
      res.off('close', onClose);
      target.end(abort);
      resolve(r);
    };
    res.on('close', onClose);
    target.begin(abort);

    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    target.pool.dispatch(
      { method: req.method as Dispatcher.HttpMethod, path: req.url!, headers, body: hasBody ? req : null },
      {
        onRequestStart(c) {
          controller = c;
          if (abortReason) c.abort(abortReason);
        },
        onResponseStart(c, statusCode, h) {
          if (statusCode < 200) return; // 1xx: informational, not the answer
          status = statusCode;
          targetTime = (performance.now() - t0) / 1000;
          out = responseHeaders(h as Record<string, string | string[] | undefined>);
          const length = h['content-length'];
          noBody = req.method === 'HEAD' || statusCode === 204 || statusCode === 304;
          if (noBody || (typeof length === 'string' && Number(length) <= BUFFER_LIMIT)) {
            buffered = [];
          } else {
            streaming = true;
            res.writeHead(statusCode, out);
          }
        },
        onResponseData(c, chunk) {
          if (buffered) {
            buffered.push(chunk);
            return;
          }
          sent += chunk.length;
          if (!res.write(chunk)) {
            c.pause();
            res.once('drain', () => c.resume());
          }
        },
        onResponseEnd() {
          if (buffered) {
            const body = noBody ? undefined : Buffer.concat(buffered);
            res.writeHead(status, out);
            res.end(body);
            sent = body?.length ?? 0;
          } else {
            res.end();
          }
          finish({ targetStatus: status, sentBytes: sent, targetTime });
        },
        onResponseError(_c, err) {
          if (abortReason instanceof ClientClosed) return finish({ clientClosed: true, sentBytes: 0, targetTime });
          const failure = abortReason instanceof DeregistrationDelayElapsed ? FAILURES.deregistrationDelay : classifyUpstreamError(err);
          // Too late for a status once the head went out: the client sees its connection cut, as from ALB.
          if (streaming) res.destroy();
          finish({ failure, sentBytes: 0, targetTime, ...(streaming ? { targetStatus: status } : {}) });
        },
      },
    );
  });
}
