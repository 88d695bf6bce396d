/**
 * Sticky sessions as ALB keeps them (AWS, "Sticky sessions for your Application Load Balancer"), as pure functions:
 * which cookies a request brings, which target or target group they name, and the `Set-Cookie` fields an answer
 * carries.
 *
 *  - duration-based (`lb_cookie`): ALB makes `AWSALB` naming the target, and `AWSALBCORS` with the same value and
 *    `SameSite=None; Secure` for cross-origin requests, on every answer (so the expiry is renewed);
 *  - application-based (`app_cookie`): when the target's answer sets the application's own cookie (the group's
 *    `cookie_name`), ALB adds `AWSALBAPP-0` naming the target, and `AWSALBAPP-1` … `-3` as `_remove_` (ALB splits
 *    a long value over four; this one always fits in the first);
 *  - target-group stickiness of a weighted forward: `AWSALBTG` and `AWSALBTGCORS` name the group.
 *
 * ALB encrypts the value; here it is the target (or group) and an HMAC under a key made when the gateway starts, so
 * a client can neither read a target's address from it nor forge one. A cookie the gateway cannot verify is
 * ignored, as ALB ignores one it cannot decrypt.
 */
import crypto from 'node:crypto';

export interface StickinessConfig {
  type: 'lb_cookie' | 'app_cookie';
  /** How long the stickiness cookie lives (ALB: 1 s to 7 days; 1 day by default). */
  durationMs: number;
  /** app_cookie: the application's cookie whose appearance makes ALB set AWSALBAPP. */
  cookieName?: string | undefined;
}

export const LB_COOKIE = 'AWSALB';
export const LB_COOKIE_CORS = 'AWSALBCORS';
export const APP_COOKIE = 'AWSALBAPP-0';
export const TG_COOKIE = 'AWSALBTG';
export const TG_COOKIE_CORS = 'AWSALBTGCORS';

export class StickyCookies {
  readonly #key = crypto.randomBytes(32);

  /** An opaque value naming `what` (a target's or group's id). */
  seal(what: string): string {
    const body = Buffer.from(what).toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** What a sealed value names, or undefined when it was not made by this gateway. */
  open(value: string | undefined): string | undefined {
    if (!value) return undefined;
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const body = value.slice(0, dot);
    const mac = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.#mac(body));
    if (mac.length !== expected.length || !crypto.timingSafeEqual(mac, expected)) return undefined;
    return Buffer.from(body, 'base64url').toString();
  }

  #mac(body: string): string {
    return crypto.createHmac('sha256', this.#key).update(body).digest('base64url').slice(0, 22);
  }
}

/** The value of one cookie in a request's Cookie field(s) (RFC 6265 §5.4: `name=value; name=value`). */
export function cookieValue(cookieHeader: string | string[] | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  const all = Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader;
  for (const pair of all.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether a target's answer sets the application's cookie (a Set-Cookie field whose name is `cookieName`). */
export function setsCookie(rawResponseFields: string[], cookieName: string): boolean {
  for (let i = 0; i < rawResponseFields.length; i += 2) {
    if (rawResponseFields[i]!.toLowerCase() !== 'set-cookie') continue;
    const value = rawResponseFields[i + 1]!;
    if (value.slice(0, value.indexOf('=')).trim() === cookieName) return true;
  }
  return false;
}

const expires = (now: number, durationMs: number) => new Date(now + durationMs).toUTCString();

/** The Set-Cookie values of a duration-based or target-group cookie and its CORS twin. */
export function pairCookies(name: string, corsName: string, value: string, durationMs: number, now = Date.now()): string[] {
  const e = expires(now, durationMs);
  return [`${name}=${value}; Expires=${e}; Path=/`, `${corsName}=${value}; Expires=${e}; Path=/; SameSite=None; Secure`];
}

/** The Set-Cookie values ALB adds when the application set its cookie: AWSALBAPP-0, and the three spare parts removed. */
export function appCookies(value: string, durationMs: number, now = Date.now()): string[] {
  const e = expires(now, durationMs);
  return [`${APP_COOKIE}=${value}; Expires=${e}; Path=/`, ...[1, 2, 3].map((i) => `AWSALBAPP-${i}=_remove_; Expires=${e}; Path=/`)];
}
