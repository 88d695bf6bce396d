/**
 * Access tokens: HS256 JWTs (jose) whose `sub` is the user id and `role` the role.
 * Refresh tokens: opaque random strings, stored hashed, redeemable once.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Db } from '../../db/pool.ts';
import type { Principal, Role } from './principal.ts';

const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;
const ISSUER = 'receipt';
export const REFRESH_TTL_S = 7 * 24 * 3600;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length);
  return crypto.timingSafeEqual(actual, expected);
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

export type Verdict = { ok: true; principal: Principal } | { ok: false; reason: string };

export interface TokenPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
}

/**
 * An access token: HS256, the user as `sub`, the role as a claim. The one place its shape is written — the shop signs
 * with it, and the scenario player and the tests forge an expired JWT with it (issued and expiring in the past).
 */
export function signAccessToken(secret: string | Uint8Array, p: Principal, at: { issuedAt?: number; expiresAt: number }): Promise<string> {
  return new SignJWT({ role: p.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(p.id))
    .setIssuer(ISSUER)
    .setIssuedAt(at.issuedAt ?? Math.floor(Date.now() / 1000))
    .setExpirationTime(at.expiresAt)
    .sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

export class Tokens {
  readonly #key: Uint8Array;
  readonly #ttlS: number;
  readonly #db: Db;

  constructor(secret: string, accessTtlS: number, db: Db) {
    this.#key = new TextEncoder().encode(secret);
    this.#ttlS = accessTtlS;
    this.#db = db;
  }

  signAccess(p: Principal, ttlS = this.#ttlS): Promise<string> {
    return signAccessToken(this.#key, p, { expiresAt: Math.floor(Date.now() / 1000) + ttlS });
  }

  async verifyAccess(token: string): Promise<Verdict> {
    try {
      // Only HS256: a token with `alg: none` or any other algorithm is refused before its signature is looked at.
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], issuer: ISSUER });
      const id = Number(payload.sub);
      const role = payload.role as Role;
      if (!Number.isSafeInteger(id) || (role !== 'customer' && role !== 'admin')) return { ok: false, reason: 'Token claims invalid' };
      return { ok: true, principal: { id, role } };
    } catch (e) {
      if (e instanceof errors.JWTExpired) return { ok: false, reason: 'Token expired' };
      if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) return { ok: false, reason: 'Token algorithm not accepted' };
      if (e instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: 'Token signature invalid' };
      if (e instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: 'Token claims invalid' };
      return { ok: false, reason: 'Token malformed' };
    }
  }

  async issuePair(p: Principal): Promise<TokenPair> {
    const refresh = crypto.randomBytes(32).toString('base64url');
    await this.#db.query(`INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`, [
      sha256(refresh),
      p.id,
      REFRESH_TTL_S,
    ]);
    return { access_token: await this.signAccess(p), token_type: 'Bearer', expires_in: this.#ttlS, refresh_token: refresh };
  }

  /** Redeems a refresh token once: the same UPDATE checks it and spends it, so two racing redeemers cannot both win. */
  async redeem(refresh: string): Promise<Principal | undefined> {
    const { rows } = await this.#db.query<{ id: string; role: Role }>(
      `UPDATE refresh_tokens t SET used_at = now() FROM users u
        WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND u.id = t.user_id
        RETURNING u.id, u.role`,
      [sha256(refresh)],
    );
    const row = rows[0];
    return row ? { id: Number(row.id), role: row.role } : undefined;
  }
}
