/**
 * Step 3 — "User has permission?" → 403 (docs/pipeline.md): we know who you are, and you may not. Sending the same
 * credentials again will not help (RFC 9110 §15.5.4), so the body says which role is needed.
 * Object-level checks ("is this your order?") are not here: they answer 404 in the locate step (docs/scenarios.md, "NOT FOUND").
 */
import { formatBearerChallenge, problemOf } from '../../http/index.ts';
import { REALM } from './authenticate.ts';
import type { Step } from './types.ts';

export const authorize: Step = (ctx, route) => {
  if (route.access !== 'admin' || ctx.user?.role === 'admin') return undefined;
  throw problemOf('insufficient-permissions', {
    detail: 'Admin role required for this resource.',
    // RFC 6750 §3.1: insufficient_scope goes with 403; clients must not refresh-and-retry on it.
    headers: { 'www-authenticate': formatBearerChallenge({ realm: REALM, error: 'insufficient_scope', scope: 'admin' }) },
    extensions: { required_role: 'admin' },
  });
};
