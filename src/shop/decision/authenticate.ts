/**
 * Step 2 — "Auth token present? Token valid, not expired?" → 401 (docs/pipeline.md).
 *
 * RFC 9110 §11.6.1: every 401 carries WWW-Authenticate. RFC 6750 §3.1: with no credentials at all, the challenge
 * has no error parameter; with a token that failed, `error="invalid_token"` and a description.
 */
import type { HttpProblem} from '../../http/index.ts';
import { formatBearerChallenge, problemOf } from '../../http/index.ts';
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
  const m = header === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!m) {
    // No credentials, or a scheme we do not speak: "who are you?" — no error code (RFC 6750 §3.1).
    throw unauthorized('Authentication required: send Authorization: Bearer <access token> (POST /auth/token).');
  }
  const verdict = await ctx.deps.tokens.verifyAccess(m[1]!);
  if (!verdict.ok) throw unauthorized(`The access token was rejected: ${verdict.reason.toLowerCase()}.`, verdict.reason);
  ctx.user = verdict.principal;
  return undefined;
};
