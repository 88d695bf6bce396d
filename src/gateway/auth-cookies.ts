/**
 * The cookies of ALB's sign-in (AWS, "Authenticate users using an Application Load Balancer"): the session cookie,
 * sent in shards `<name>-0`, `<name>-1`, … because one cookie holds about 4 KB (RFC 6265 §6.1 asks browsers for at
 * least 4096 bytes per cookie) and ALB's session can be up to 16 KB — so at most four shards; and the nonce cookie
 * (`AWSALBAuthNonce`) that ties a sign-in's `state` to the browser that started it.
 *
 * The session itself is sealed (encrypted and authenticated: a JWE, RFC 7516, `dir` + A256GCM, made with jose) under
 * a key of this gateway's, so a client can neither read nor change it; its `exp` is the action's SessionTimeout.
 */
import { EncryptJWT, errors, jwtDecrypt, type JWTPayload } from 'jose';

/** Bytes of `name=value` one shard may take (RFC 6265 §6.1's minimum a browser keeps). */
export const SHARD_BYTES = 4096;
/** ALB's largest session: four shards. */
export const MAX_SHARDS = 4;
export const NONCE_COOKIE = 'AWSALBAuthNonce';

/** The cookies of a Cookie field (RFC 6265 §5.4: `name=value` pairs joined by `; `); the first of a repeated name wins. */
export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of Array.isArray(header) ? header : header === undefined ? [] : [header]) {
    for (const pair of line.split(';')) {
      const at = pair.indexOf('=');
      if (at < 1) continue;
      const name = pair.slice(0, at).trim();
      if (!out.has(name)) out.set(name, pair.slice(at + 1).trim());
    }
  }
  return out;
}

/**
 * A value cut into shards named `<name>-0`, `<name>-1`, …, each `name=value` within SHARD_BYTES; undefined when it
 * needs more than MAX_SHARDS. The value must be cookie-safe ASCII (a JWE's base64url and dots are).
 */
export function shardCookie(name: string, value: string, shardBytes = SHARD_BYTES, maxShards = MAX_SHARDS): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (let at = 0, i = 0; at < value.length || i === 0; i++) {
    const shard = `${name}-${i}`;
    const room = shardBytes - shard.length - 1;
    out.push([shard, value.slice(at, at + room)]);
    at += room;
  }
  return out.length > maxShards ? undefined : out;
}

/** The value the shards of `name` carry, joined in order from `-0`; undefined when there is no `-0`. */
export function joinShards(cookies: Map<string, string>, name: string, maxShards = MAX_SHARDS): string | undefined {
  if (!cookies.has(`${name}-0`)) return undefined;
  let value = '';
  for (let i = 0; i < maxShards && cookies.has(`${name}-${i}`); i++) value += cookies.get(`${name}-${i}`);
  return value;
}

/** A Set-Cookie value for the session's and the nonce's cookies: Secure and HttpOnly, for the whole site (RFC 6265 §4.1). */
export function setCookie(name: string, value: string, expires?: Date): string {
  return `${name}=${value}; ${expires ? `Expires=${expires.toUTCString()}; ` : ''}Path=/; Secure; HttpOnly`;
}

/** A Set-Cookie that removes a cookie (an Expires in the past, RFC 6265 §5.3 step 11). */
export const clearCookie = (name: string) => `${name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly`;

/** Seals a payload under `key`, valid until `exp` (seconds since the epoch). */
export function seal(payload: JWTPayload, key: Uint8Array, exp: number): Promise<string> {
  return new EncryptJWT(payload).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).setExpirationTime(exp).encrypt(key);
}

/** What a sealed value says: its payload; `expired` when its time is over; `invalid` when it is not one of ours. */
export async function unseal(value: string, key: Uint8Array): Promise<{ payload: JWTPayload } | 'expired' | 'invalid'> {
  try {
    return { payload: (await jwtDecrypt(value, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })).payload };
  } catch (e) {
    return e instanceof errors.JWTExpired ? 'expired' : 'invalid';
  }
}
