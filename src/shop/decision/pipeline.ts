/**
 * The order in which a request is judged (docs/status-codes.md, "The order of the checks"; drawn in docs/pipeline.md), as
 * an ordered list.
 * Each step passes or decides the answer; the first step that decides, answers. docs/pipeline.md draws it.
 *
 *   1  parse           400  malformed JSON / wrong types (413, 415 from the body parser just before)
 *   2  authenticate    401  no token, bad token, expired token — with WWW-Authenticate
 *   3  authorize       403  signed in, but not the role the route needs
 *   4  locate          404  absent, or someone else's; 410 removed on purpose
 *   4b preconditions   304  If-None-Match matched (GET/HEAD); 412 If-Match stale (RFC 9110 §13.2)
 *   5  validate        422  every business-rule violation at once
 *   6  rate-limit      429  the user's (or address's) limit spent: Retry-After + X-RateLimit-* + RateLimit
 *   7  dependencies    503  database or payment provider out of reach, with Retry-After
 *   8  handle          500  the handler threw something unexpected (no Retry-After)
 *   9  (success)       201 + Location · 200 · 204
 */
import { authenticate } from './authenticate.ts';
import { authorize } from './authorize.ts';
import { dependencies } from './dependencies.ts';
import { handle } from './handle.ts';
import { locate } from './locate.ts';
import { parse } from './parse.ts';
import { preconditions } from './preconditions.ts';
import { describeLimit, rateLimit } from './rate-limit.ts';
import type { AnyRoute, Ctx, Outcome, Step } from './types.ts';
import { HttpProblem } from '../../http/index.ts';
import { validate } from './validate.ts';

export const DECISION_STEPS: ReadonlyArray<readonly [name: string, step: Step]> = [
  ['parse', parse],
  ['authenticate', authenticate],
  ['authorize', authorize],
  ['locate', locate],
  ['preconditions', preconditions],
  ['validate', validate],
  ['rate-limit', rateLimit],
  ['dependencies', dependencies],
  ['handle', handle],
];

export async function runPipeline(ctx: Ctx, route: AnyRoute): Promise<Outcome> {
  try {
    for (const [name, step] of DECISION_STEPS) {
      // Which step decides is what the shop's metrics count answers by (a throw leaves it on the thrower).
      ctx.step = name;
      // Most steps pass a request without waiting for anything (a public route needs no token, a route without
      // rules no validation): they answer synchronously, and only a promise is awaited — each await is a turn of
      // the microtask queue on every request.
      const result = step(ctx, route);
      const decided = result instanceof Promise ? await result : result;
      if (decided) {
        if (name === 'handle') ctx.step = 'success';
        const described = describeLimit(ctx, route);
        if (described) await described;
        return decided;
      }
    }
  } catch (e) {
    // Every answer on a limited route describes the limit, including those decided before step 6 — but not the 429,
    // which carries its own, and not a 503: when a dependency is away, reading the limit's store could wait on the
    // same missing database and turn a prompt 503 into a gateway timeout.
    if (!(e instanceof HttpProblem && (e.status === 429 || e.status === 503))) await describeLimit(ctx, route);
    throw e;
  }
  // `handle` always decides; reaching here means the list above lost its last step.
  throw new Error('decision pipeline ended without an answer');
}
