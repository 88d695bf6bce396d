/**
 * Steps 8–9 — run the handler. An exception that is not an HttpProblem is a bug: the error handler answers 500
 * without Retry-After (docs/status-codes.md, "5xx": a bug, not a capacity issue) and without any internal detail.
 * Success: 201 + Location for a creation (RFC 9110 §15.3.2 — without it the client cannot
 * find what it made, so a 201 without one is refused here), 200 with a body, 204 without.
 */
import type { Step } from './types.ts';

export class MissingLocationError extends Error {
  override name = 'MissingLocationError';
}

export const handle: Step = async (ctx, route) => {
  ctx.deps.faults.maybeThrow(ctx.req.method, ctx.req.routeOptions.url ?? ctx.req.url);
  const outcome = await route.handle(ctx as never);
  if (outcome.status === 201 && !outcome.headers?.location) {
    throw new MissingLocationError(`${route.method} ${route.url} answered 201 without Location`);
  }
  return outcome;
};
