/**
 * A rule's pre-routing actions, in ALB's order, before its final action:
 *
 *   - authenticate-oidc / authenticate-cognito (authenticate-oidc.ts; AWS, "Authenticate users using an Application
 *     Load Balancer"): a signed-in request goes on with the x-amzn-oidc-* fields for the target; one without a
 *     session is redirected to the provider, refused 401 or let on anonymous, as OnUnauthenticatedRequest says. The
 *     provider's callback, /oauth2/idpresponse, is answered here on any listener with such a rule, whatever rule
 *     its path matches: it ends the sign-in and sets the session cookie.
 *   - jwt-validation (jwt-validation.ts; AWS, "Verify JWTs using an Application Load Balancer"): a request without a
 *     valid bearer token is answered 401 with RFC 6750 §3's challenge; a valid one goes on with its Authorization
 *     field untouched.
 *
 * Synchronous for every rule without either, so a request that needs none never waits a turn.
 */
import { formatBearerChallenge } from '../../http/www-authenticate.ts';
import { authCallback, CALLBACK_PATH, type AuthOutcome } from '../authenticate-oidc.ts';
import { FAILURES } from '../failures.ts';
import { answerFailure, answerOwn } from '../respond/answer.ts';
import type { RequestContext } from './context.ts';

export function authenticate(ctx: RequestContext): true | void | Promise<true | void> {
  const flows = ctx.listener.authFlows;
  const callback = !!flows && ctx.path === CALLBACK_PATH;
  const auth = ctx.auth;
  if (!callback && !auth) return verifyJwt(ctx);
  ctx.preActions = ['authenticate'];
  // The sign-in's URLs (redirect_uri, the page to return to) are built from the request's Host; an HTTP/1.0 request
  // may come without one, and ALB answers it 401 (AWS, "Troubleshoot your Application Load Balancers", HTTP 401).
  const host = ctx.hostWithPort;
  if (!host) return answerFailure(ctx, FAILURES.authMissingHost);
  if (callback) return authCallback(flows!, ctx.query, ctx.headers.cookie, host).then((o) => settle(ctx, o));
  return auth!.check(ctx.headers.cookie, host, `https://${host}${ctx.requestPath}`).then((o) => settle(ctx, o) || verifyJwt(ctx));
}

/** What a sign-in step decided: an answer of the gateway's (a redirect, a failure), or the fields the target gets. */
function settle(ctx: RequestContext, o: AuthOutcome): true | undefined {
  switch (o.kind) {
    case 'answer':
      return answerOwn(ctx, o.status, { location: o.location, 'set-cookie': o.cookies }, '');
    case 'fail':
      // RFC 9110 §11.6.1 asks a 401 for a WWW-Authenticate field; ALB sends none, and neither does the gateway.
      return answerFailure(ctx, o.failure, o.cookies?.length ? { 'set-cookie': o.cookies } : undefined);
    case 'signed-in':
      ctx.oidcFields = o.fields;
      return;
    case 'anonymous':
      ctx.oidcFields = [];
      return;
  }
}

function verifyJwt(ctx: RequestContext): void | Promise<true | void> {
  const check = ctx.jwt;
  if (!check) return;
  (ctx.preActions ??= []).push('jwt-validation');
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
