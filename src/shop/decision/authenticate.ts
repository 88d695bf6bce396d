/**
 * Step 2 — "Auth token present? Token valid, not expired?" → 401 (docs/pipeline.md).
 *
 * RFC 9110 §11.6.1: every 401 carries WWW-Authenticate. RFC 6750 §3.1: with no credentials at all, the challenge
 * has no error parameter; with a token that failed, `error="invalid_token"` and a description.
 *
 * Who is calling can also come from the load balancer: behind a rule that signs users in (`authenticate-oidc`), the
 * request carries the user's claims in `x-amzn-oidc-data`, signed by the load balancer. Trusted only when the shop
 * knows its load balancer (`deps.albIdentity`) and the signature verifies (auth/alb-identity.ts); the claims' `sub`
 * names the shop's user. A bearer token, when sent, is what counts. Either way the next step, authorize, is the
 * same: signed in at the edge is not the same as allowed (403).
 */
import type { HttpProblem} from '../../http/index.ts';
import { formatBearerChallenge, problemOf } from '../../http/index.ts';
import type { AlbIdentity } from '../auth/alb-identity.ts';
import { findUserByName } from '../store/users.ts';
import type { Ctx, Step } from './types.ts';

export const REALM = 'receipt';

export function unauthorized(detail: string, tokenFailure?: string): HttpProblem {
  const challenge =
    tokenFailure === undefined
      ? formatBearerChallenge({ realm: REALM })
      : formatBearerChallenge({ realm: REALM, error: 'invalid_token', error_description: tokenFailure });
  return problemOf(tokenFailure === undefined ? 'authentication-required' : 'invalid-token', {
    detail,
    headers: { 'www-authenticate': challenge },
  });
}

export const authenticate: Step = (ctx, route) => (route.access === 'public' ? undefined : verify(ctx));

async function verify(ctx: Ctx): Promise<undefined> {
  const header = ctx.req.headers.authorization;
  const signedIn = ctx.req.headers['x-amzn-oidc-data'];
  if (header === undefined && typeof signedIn === 'string' && ctx.deps.albIdentity) return fromLoadBalancer(ctx, ctx.deps.albIdentity, signedIn);
  const m = header === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!m) {
    // No credentials, or a scheme we do not speak: "who are you?" — no error code (RFC 6750 §3.1).
    throw unauthorized('Authentication required: send Authorization: Bearer <access token> (POST /auth/token).');
  }
  const verdict = await ctx.deps.tokens.verifyAccess(m[1]!);
  if (!verdict.ok) throw unauthorized(`The access token was rejected: ${verdict.reason.toLowerCase()}.`, verdict.reason);
  ctx.user = verdict.principal;
  return undefined;
}

async function fromLoadBalancer(ctx: Ctx, alb: AlbIdentity, token: string): Promise<undefined> {
  const verdict = await alb.verify(token);
  if (!verdict.ok) throw unauthorized(`The load balancer's user claims (x-amzn-oidc-data) were rejected: ${verdict.reason}.`, 'invalid_token');
  const user = typeof verdict.claims.sub === 'string' ? await findUserByName(ctx.deps.db, verdict.claims.sub) : undefined;
  if (!user) throw unauthorized(`The load balancer signed in "${String(verdict.claims.sub)}", who has no account here.`, 'invalid_token');
  ctx.user = { id: user.id, role: user.role };
  return undefined;
}
