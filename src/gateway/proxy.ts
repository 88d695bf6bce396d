/**
 * Forwarding one request to one target over its keep-alive pool, and reading the answer back.
 *
 * Small answers (a Content-Length up to BUFFER_LIMIT) are read whole before anything is sent to the client, so a
 * failure in the middle of the body can still become ALB's 502 or 504 (ALB.md §1.2 #3, §1.3 #4). Larger or
 * chunked answers are streamed; a failure after their head has gone out can only cut the connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { classifyUpstreamError, FAILURES, type GatewayFailure } from './failures.ts';
import { isHopByHop, connectionTokens } from './headers.ts';
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
  for (const [k, v] of Object.entries(raw)) if (v !== undefined && !isHopByHop(k, tokens)) out[k] = v;
  return out;
}

export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: Target,
  headers: Record<string, string | string[]>,
): Promise<ProxyResult> {
  const ac = target.begin();
  const onClose = () => {
    if (!res.writableFinished) ac.abort(new ClientClosed());
  };
  res.on('close', onClose);
  const t0 = performance.now();
  let targetTime = -1;
  let headSent = false;
  try {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const up = await target.pool.request({
      method: req.method as 'GET',
      path: req.url!,
      headers,
      body: hasBody ? req : null,
      signal: ac.signal,
    });
    targetTime = (performance.now() - t0) / 1000;
    const out = responseHeaders(up.headers);
    const length = up.headers['content-length'];
    const noBody = req.method === 'HEAD' || up.statusCode === 204 || up.statusCode === 304;
    if (noBody || (typeof length === 'string' && Number(length) <= BUFFER_LIMIT)) {
      const chunks: Buffer[] = [];
      for await (const chunk of up.body) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      res.writeHead(up.statusCode, out);
      headSent = true;
      res.end(noBody ? undefined : body);
      return { targetStatus: up.statusCode, sentBytes: noBody ? 0 : body.length, targetTime };
    }
    res.writeHead(up.statusCode, out);
    headSent = true;
    let sent = 0;
    up.body.on('data', (c: Buffer) => (sent += c.length));
    await pipeline(up.body, res);
    return { targetStatus: up.statusCode, sentBytes: sent, targetTime };
  } catch (err) {
    const reason = ac.signal.reason as unknown;
    if (reason instanceof ClientClosed || (res.destroyed && !res.writableFinished && !(reason instanceof DeregistrationDelayElapsed))) {
      return { clientClosed: true, sentBytes: 0, targetTime };
    }
    const failure = reason instanceof DeregistrationDelayElapsed ? FAILURES.deregistrationDelay : classifyUpstreamError(err);
    if (headSent) {
      // Too late for a status: the client sees its connection cut, as from ALB.
      res.destroy();
      return { failure, sentBytes: 0, targetTime };
    }
    return { failure, sentBytes: 0, targetTime };
  } finally {
    res.off('close', onClose);
    target.end(ac);
  }
}
