/**
 * Step 7 — "DB/external service ok?" → 503 + Retry-After (docs/pipeline.md; docs/scenarios.md, "DB connection pool exhausted").
 *
 * A dependency is judged where it is touched: the pool turns a connection it cannot hand out within
 * DB_ACQUIRE_TIMEOUT_MS into a 503 at whatever step asked (locate and validate read the database too), and the
 * payment client does the same for the provider. This step adds the fast path: while the database is known to be
 * out of reach (the pool is exhausted on purpose, the `db_pool_exhausted` fault), routes that need it answer 503
 * at once instead of each request waiting out the acquire timeout.
 */
import { DependencyUnavailable } from '../../http/index.ts';
import type { Step } from './types.ts';

export const dependencies: Step = (ctx, route) => {
  if (route.usesDatabase !== false && ctx.deps.db.exhausted) {
    throw new DependencyUnavailable('database', ctx.deps.config.retryAfterS);
  }
  // The "circuit breaker open" 503: the provider failed repeatedly; answer at once, charge nothing, write
  // nothing, and say when the breaker will let a call try again.
  if (route.usesPayments && ctx.deps.payments.breakerOpen) throw ctx.deps.payments.unavailable();
  return undefined;
};
