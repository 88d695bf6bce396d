/**
 * A rule's jwt-validation action, run before its final action (AWS, "Verify JWTs using an Application Load
 * Balancer"): a request without a valid bearer token is answered 401 with RFC 6750 §3's challenge; a valid one goes
 * on to the final action with its Authorization field untouched. Synchronous for every rule without the action.
 */
import { formatBearerChallenge } from '../../http/www-authenticate.ts';
import { FAILURES } from '../failures.ts';
import { answerFailure } from '../respond/answer.ts';
import type { RequestContext } from './context.ts';

export function authenticate(ctx: RequestContext): void | Promise<true | void> {
  const check = ctx.jwt;
  if (!check) return;
  ctx.preAction = 'jwt-validation';
  return check(ctx.headers.authorization).then((verdict) => {
    if (verdict.ok) return;
    if (verdict.why === 'jwks') return answerFailure(ctx, FAILURES.jwksUnavailable);
    // RFC 6750 §3.1: a request with no credentials gets a challenge without an error code; a bad token, invalid_token.
    // The description says why only with Receipt's extras: ALB's own answer does not.
    const challenge =
      verdict.why === 'missing'
        ? formatBearerChallenge({})
        : formatBearerChallenge({ error: 'invalid_token', ...(ctx.site.extras ? { error_description: verdict.detail } : {}) });
    return answerFailure(ctx, verdict.why === 'missing' ? FAILURES.jwtMissing : FAILURES.jwtInvalid, { 'www-authenticate': challenge });
  });
}
