/**
 * The first two phases: what came (measured once, for the checks, the rules and the log), then ALB's checks on it
 * (checks.ts, a table of its own).
 */
import { checkRequest } from '../checks.ts';
import { traceId } from '../headers.ts';
import { ALB_LIMITS } from '../limits.ts';
import { parseRequestTarget, requestHost } from '../request-target.ts';
import { answerFailure } from '../respond/answer.ts';
import type { RequestContext } from './context.ts';

export function measure(ctx: RequestContext): void {
  const req = ctx.req!;
  const h2 = req.httpVersion === '2.0';
  const method = (ctx.method = req.method ?? 'GET');
  const url = (ctx.url = req.url ?? '/');
  ctx.httpVersion = req.httpVersion;
  const raw = (ctx.rawHeaders = req.rawHeaders);
  ctx.headers = req.headers;
  ctx.trace = traceId(req.headers['x-amzn-trace-id'] as string | undefined);
  ctx.userAgent = req.headers['user-agent'] ?? '';
  const received = 'received' in req ? req.received : undefined;
  if (received) {
    ctx.received = received;
    ctx.framing = (req as { framing: NonNullable<RequestContext['framing']> }).framing;
  }
  // Sizes are of what came, every field line counted, forwardable or not.
  const measured = received?.fields ?? raw;
  let total = 0;
  let oversize = false;
  for (let i = 0; i < measured.length; i += 2) {
    const size = measured[i]!.length + measured[i + 1]!.length + 4;
    if (size > ALB_LIMITS.headerBytes) oversize = true;
    total += size;
  }
  ctx.headerBytes = total;
  ctx.oversizeField = oversize;
  ctx.receivedBytes = received ? received.headBytes : method.length + url.length + 12 + total + 2;
  const target = (ctx.target = parseRequestTarget(method, url));
  const authority = target.ok ? target.authority : undefined;
  const hostResult = h2 ? { ok: true as const, host: String(req.headers[':authority'] ?? req.headers.host ?? '').toLowerCase() } : requestHost(raw, req.httpVersion, authority);
  ctx.hostOk = hostResult.ok;
  const hostWithPort = (ctx.hostWithPort = hostResult.ok ? hostResult.host : '');
  const requestPath = (ctx.requestPath = target.ok ? `${target.path}${target.query ? `?${target.query}` : ''}` : url);
  const { protocol, port } = ctx.listener;
  ctx.requestLine = `${method} ${protocol}://${hostWithPort || '-'}${hostWithPort.includes(':') ? '' : `:${port}`}${requestPath.startsWith('/') ? requestPath : `/${requestPath}`} HTTP/${req.httpVersion}`;
  ctx.host = hostWithPort.replace(/:\d+$/, '');
}

/** ALB's checks, in its order (checks.ts): the first refusal answers; desync mitigation may classify and go on. */
export function checks(ctx: RequestContext): true | void {
  const checked = checkRequest(ctx, ctx.site.desync);
  if (checked.classification) ctx.classification = checked.classification;
  if (checked.failure) return answerFailure(ctx, checked.failure);
  ctx.closeConnections = checked.closeConnections ?? false;
}
