/**
 * Step 5 — "Business validation ok?" → 422 (docs/pipeline.md): the request parsed, its types are right, and it still
 * cannot be done. Every violation is listed at once (docs/scenarios.md, "VALIDATION FAILURE": every field highlighted at once), as
 * `errors: [{field, message}]`.
 */
import type { HttpProblem} from '../../http/index.ts';
import { type FieldError, problemOf } from '../../http/index.ts';
import type { AnyRoute, Ctx, Step } from './types.ts';

export function unprocessable(errors: FieldError[], detail?: string): HttpProblem {
  return problemOf('validation-failed', {
    detail: detail ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    extensions: { errors },
  });
}

export const validate: Step = (ctx, route) => (route.validate ? check(ctx, route.validate) : undefined);

async function check(ctx: Ctx, rules: NonNullable<AnyRoute['validate']>): Promise<undefined> {
  const errors = await rules(ctx as never);
  if (errors.length) throw unprocessable(errors);
  return undefined;
}
