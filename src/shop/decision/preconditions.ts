/**
 * Step 4b — conditional requests (RFC 9110 §13). Not one of the checks docs/status-codes.md tells, but it belongs here: §13.2.1 says
 * preconditions are evaluated after the ordinary checks (so 401/403/404/410 win over them) and before the
 * method is performed; §13.2.2 fixes their order. A failed If-None-Match on GET/HEAD → 304 with the same
 * ETag (§15.4.5); a failed If-Match → 412.
 */
import { evaluatePreconditions, problemOf } from '../../http/index.ts';
import type { Step } from './types.ts';

export const preconditions: Step = (ctx, route) => {
  if (!route.etag) return undefined;
  const current = route.etag(ctx.resource);
  const outcome = evaluatePreconditions(ctx.req.method, ctx.req.headers as Record<string, string | undefined>, current);
  // RFC 9110 §15.4.5: a 304 carries the ETag and Cache-Control the 200 would have carried.
  if (outcome.kind === 'not-modified') return { status: 304, headers: { etag: current, ...(route.cacheControl ? { 'cache-control': route.cacheControl } : {}) } };
  if (outcome.kind === 'failed') {
    throw problemOf('precondition-failed', {
      detail: 'The resource has changed since you read it. GET it again and retry with the new ETag.',
      headers: { etag: current },
    });
  }
  return undefined;
};
