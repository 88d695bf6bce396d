/**
 * Step 4 — "Resource exists?" → 404, or 410 when it existed and was removed on purpose (docs/status-codes.md, "4xx").
 * A resource that exists but belongs to someone else answers exactly like one that does not (docs/scenarios.md, "NOT FOUND"; RFC 9110
 * §15.5.5 "not willing to disclose that one exists"). The route's `locate` does the finding and throws
 * `notFound` / `gone`; this step only runs it. For a creation ("or POST new"), the resource that may already exist
 * is the result of an earlier request with the same idempotency key: `replay` finds it.
 */
import type { HttpProblem} from '../../http/index.ts';
import { problemOf } from '../../http/index.ts';
import type { AnyRoute, Ctx, Outcome, Step } from './types.ts';

export function notFound(what: string, extensions: Record<string, unknown> = {}): HttpProblem {
  return problemOf('not-found', { detail: `${what} not found.`, extensions });
}

export function gone(what: string, extensions: Record<string, unknown> = {}): HttpProblem {
  return problemOf('gone', { detail: `${what} was permanently removed.`, extensions });
}

export const locate: Step = (ctx, route) => (route.replay || route.locate ? find(ctx, route) : undefined);

async function find(ctx: Ctx, route: AnyRoute): Promise<Outcome | undefined> {
  if (route.replay) {
    const earlier = await route.replay(ctx as never);
    if (earlier) return earlier;
  }
  if (route.locate) ctx.resource = await route.locate(ctx as never);
  return undefined;
};
