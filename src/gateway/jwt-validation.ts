/**
 * ALB's `jwt-validation` action (AWS, "Verify JWTs using an Application Load Balancer",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-verify-jwt.html): the bearer token of
 * `Authorization` (RFC 6750 §2.1) must be an RS256 JWT signed by a key of the issuer's JWKS, with `iss` the configured
 * issuer and an `exp` still ahead; `nbf` and `iat`, when present, must not be in the future; each additional claim
 * must carry the configured values. The token then reaches the target untouched.
 *
 * The JWKS is fetched with jose's `createRemoteJWKSet` — cached, refetched for a `kid` it has not seen — so an HTTPS
 * endpoint is trusted as Node trusts any server: the system's CAs plus `NODE_EXTRA_CA_CERTS`.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { JwtValidationAction } from './config.ts';

export type JwtVerdict = { ok: true } | { ok: false; why: 'missing' | 'invalid' | 'jwks'; detail: string };
export type JwtCheck = (authorization: string | undefined) => Promise<JwtVerdict>;

// RFC 6750 §2.1: `Bearer` (any case, RFC 9110 §11.1), one or more spaces, then a b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** Whether a claim carries every configured value, in the format the rule says it has (an inference: AWS does not say "every" or "any"). */
function claimHolds(payload: JWTPayload, c: NonNullable<JwtValidationAction['additionalClaims']>[number]): boolean {
  const v = payload[c.name];
  if (c.format === 'single-string') return typeof v === 'string' && c.values.includes(v);
  const have = c.format === 'string-array' ? (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined) : typeof v === 'string' ? v.split(' ').filter(Boolean) : undefined;
  return have !== undefined && c.values.every((want) => have.includes(want));
}

/** One check per rule, made when the rules are compiled: its key set is fetched on first use and cached. */
export function compileJwtValidation(action: JwtValidationAction): JwtCheck {
  const keys = createRemoteJWKSet(new URL(action.jwksEndpoint));
  const claims = action.additionalClaims ?? [];
  return async (authorization) => {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) return { ok: false, why: 'missing', detail: 'no bearer token' };
    try {
      // AWS: only RS256; iss and exp are required; jose checks exp and nbf against the clock.
      const { payload } = await jwtVerify(token, keys, { algorithms: ['RS256'], issuer: action.issuer, requiredClaims: ['iss', 'exp'] });
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000) return { ok: false, why: 'invalid', detail: 'iat is in the future' };
      const failed = claims.find((c) => !claimHolds(payload, c));
      if (failed) return { ok: false, why: 'invalid', detail: `claim ${failed.name} does not hold` };
      return { ok: true };
    } catch (e) {
      // The key set could not be had (unreachable, not a JWKS, too slow): the gateway's failure, not the token's.
      if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || (e instanceof Error && !(e instanceof errors.JOSEError))) {
        return { ok: false, why: 'jwks', detail: 'the JWKS could not be fetched' };
      }
      return { ok: false, why: 'invalid', detail: (e as Error).message };
    }
  };
}
