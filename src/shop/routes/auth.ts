/** POST /auth/token and /auth/refresh. Token answers are never cached (RFC 6749 §5.1). */
import { Type } from 'typebox';
import { verifyPassword } from '../auth/tokens.ts';
import { unauthorized } from '../decision/authenticate.ts';
import { defineRoute } from '../decision/types.ts';
import { findUserByName } from '../store/users.ts';

const TokenPair = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
});

const NO_STORE = { 'cache-control': 'no-store' };

export const authRoutes = [
  defineRoute({
    method: 'POST',
    url: '/auth/token',
    summary: 'Exchange a username and password for an access token and a refresh token',
    tags: ['identity'],
    access: 'public',
    // Brute-force guard (OWASP API2): the general limit, per client address.
    rateLimit: 'general',
    schema: { body: Type.Object({ username: Type.String(), password: Type.String() }, { additionalProperties: false, examples: [{ username: 'alice', password: 'alice-pass' }] }) },
    success: { 200: { description: 'A new token pair', schema: TokenPair, headers: ['Cache-Control'] } },
    extraProblems: { 401: 'Wrong username or password (no hint which)' },
    async handle({ body, deps }) {
      const user = await findUserByName(deps.db, body.username);
      // Verify a password even for an unknown user, so timing does not tell which half was wrong.
      const ok = await verifyPassword(body.password, user?.password_hash ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      if (!user || !ok) throw unauthorized('Wrong username or password.');
      return { status: 200, body: await deps.tokens.issuePair({ id: user.id, role: user.role }), headers: NO_STORE };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/auth/refresh',
    summary: 'Redeem a refresh token (once) for a new token pair',
    tags: ['identity'],
    access: 'public',
    rateLimit: 'general',
    schema: { body: Type.Object({ refresh_token: Type.String() }, { additionalProperties: false }) },
    success: { 200: { description: 'A new token pair; the refresh token sent is spent', schema: TokenPair, headers: ['Cache-Control'] } },
    extraProblems: { 401: 'Unknown, used or expired refresh token' },
    async handle({ body, deps }) {
      const principal = await deps.tokens.redeem(body.refresh_token);
      if (!principal) throw unauthorized('The refresh token is unknown, already used, or expired. Sign in again.');
      return { status: 200, body: await deps.tokens.issuePair(principal), headers: NO_STORE };
    },
  }),
];
