/**
 * The last phases of a forward: the fields the target gets (headers.ts), the body's framing, and the exchange with
 * the target — through proxy.ts for a request, or a tunnel (tunnel.ts) for a WebSocket upgrade.
 */
import type http2 from 'node:http2';
import { classifyUpstreamError, FAILURES } from '../failures.ts';
import { targetFields } from '../headers.ts';
import { forward as proxy } from '../proxy.ts';
import { answerFailure, isHttp2 } from '../respond/answer.ts';
import { tunnel } from '../tunnel.ts';
import type { RequestContext } from './context.ts';

/** Methods for which Node sends no framing when there is no content (it frames the others as chunked). */
const NO_CONTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

export function rewriteFields(ctx: RequestContext): void {
  ctx.fields = targetFields(ctx, ctx.listener, ctx, ctx.site.headerAttributes, ctx.site.extras);
}

/** The body's framing (RFC 9112 §6.3): chunked wins; then Content-Length; HTTP/2 frames its own. */
export function frame(ctx: RequestContext): void {
  const req = ctx.req!;
  if (ctx.upgrade) {
    // The upgrade asked of the target (RFC 9110 §7.8; RFC 6455 §4.1): hop-by-hop fields, so named again here.
    ctx.fields.push('connection', 'Upgrade', 'upgrade', String(ctx.headers.upgrade));
    return;
  }
  const framing = ctx.framing;
  if (!framing || isHttp2(ctx.res!)) {
    ctx.hasBody = !(req as http2.Http2ServerRequest).stream.endAfterHeaders;
    const cl = ctx.headers['content-length'];
    ctx.contentLength = cl !== undefined ? Number(cl) : undefined;
  } else if (framing.kind === 'chunked') {
    ctx.hasBody = true;
    ctx.codings = framing.codings;
  } else {
    const length = (ctx.contentLength = framing.kind === 'length' ? framing.length : undefined);
    ctx.hasBody = (length ?? 0) > 0;
    // Neither field: the request has no content (RFC 9112 §6.3). Said as `Content-Length: 0` where the method
    // gives content a meaning (RFC 9110 §8.6) — otherwise a body-less POST would go as an empty chunked body, and a
    // target that sees a body without Content-Type answers 415 to a request that sent none.
    if (length === 0 || (length === undefined && !NO_CONTENT_METHODS.has(ctx.method))) ctx.fields.push('content-length', '0');
  }
}

/**
 * The fields the gateway adds to a target's answer: the sticky-session cookies (pick-target.ts) and the listener's
 * added response headers — each only where the target's answer does not carry that header itself (AWS's page does not
 * say which wins; the application's own value is kept). No function at all for a listener that adds nothing.
 */
function withListenerHeaders(ctx: RequestContext): ((raw: string[]) => string[]) | undefined {
  const added = ctx.listener.responseHeaders;
  const sticky = ctx.responseFields;
  if (added.length === 0) return sticky;
  // Without sticky cookies the function depends on the listener alone: made once per listener, not per request.
  if (!sticky) {
    let f = PER_LISTENER.get(added);
    if (!f) PER_LISTENER.set(added, (f = (raw) => listenerHeaders(added, raw, [])));
    return f;
  }
  return (raw) => listenerHeaders(added, raw, sticky(raw));
}

const PER_LISTENER = new WeakMap<string[], (raw: string[]) => string[]>();

/** The listener's added response headers the target's answer (`raw`) does not carry itself, after `out`. */
function listenerHeaders(added: string[], raw: string[], out: string[]): string[] {
  for (let i = 0; i < added.length; i += 2) {
    const name = added[i]!;
    let present = false;
    for (let k = 0; k < raw.length && !present; k += 2) present = raw[k]!.length === name.length && raw[k]!.toLowerCase() === name;
    if (!present) out.push(name, added[i + 1]!);
  }
  return out;
}

export function forward(ctx: RequestContext): Promise<true> {
  return ctx.upgrade ? openTunnel(ctx) : exchange(ctx);
}

async function exchange(ctx: RequestContext): Promise<true> {
  const t = performance.now();
  const result = await proxy(ctx.req!, ctx.res!, ctx.chosen!, {
    method: ctx.method,
    path: ctx.targetPath,
    headers: ctx.fields,
    hasBody: ctx.hasBody,
    contentLength: ctx.hasBody ? ctx.contentLength : undefined,
    codings: ctx.codings && ctx.codings.length > 0 ? ctx.codings : undefined,
    closeConnections: ctx.closeConnections,
    responseFields: withListenerHeaders(ctx),
  });
  ctx.receivedBytes += result.receivedBytes;
  ctx.targetTime = result.targetTime;
  ctx.responseTime = result.targetStatus !== undefined ? (performance.now() - t) / 1000 - result.targetTime : -1;
  if (result.targetStatus !== undefined) ctx.targetStatus = result.targetStatus;
  if (result.clientClosed) return answerFailure(ctx, FAILURES.clientClosed);
  const failure = result.failure;
  if (!failure) {
    ctx.status = result.targetStatus!;
    ctx.sentBytes = result.sentBytes;
    return true;
  }
  if (ctx.res!.headersSent) {
    // Too late for a status of the gateway's: the client saw the target's, then its connection cut.
    ctx.status = result.targetStatus ?? failure.status;
    ctx.errorReason = failure.reason;
    return true;
  }
  // ALB logs target_status_code only when the target sent a response, and a target only when one was at fault.
  ctx.targetStatus = undefined;
  if (failure.side === 'gateway') ctx.targetAddress = undefined;
  return answerFailure(ctx, failure);
}

async function openTunnel(ctx: RequestContext): Promise<true> {
  const result = await tunnel(ctx.socket!, ctx.upgradeHead!, ctx.chosen!, ctx.targetPath, ctx.fields);
  ctx.targetTime = result.targetTime;
  ctx.receivedBytes += result.receivedBytes;
  ctx.sentBytes = result.sentBytes;
  if (result.targetStatus !== undefined) {
    ctx.targetStatus = ctx.status = result.targetStatus;
    ctx.responseTime = 0;
    return true;
  }
  const failure = classifyUpstreamError(result.error);
  if (failure.side === 'gateway') ctx.targetAddress = undefined;
  return answerFailure(ctx, failure);
}
