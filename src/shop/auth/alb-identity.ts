/**
 * A user the load balancer signed in (AWS, "Authenticate users using an Application Load Balancer", "User claims
 * encoding and signature verification"): behind an `authenticate-oidc` or `authenticate-cognito` action the
 * target gets the user's claims in `x-amzn-oidc-data`, a JWT the load balancer signed with ES256. AWS's advice is
 * to verify it before trusting it — any client can send the field to a target it reaches directly: the `signer`
 * in its header must be your load balancer, and the signature must verify with the public key the load balancer
 * publishes by the token's `kid` (PEM text at `<keys URL>/<kid>`).
 *
 * The signature is checked over the token's first two segments exactly as received: ALB's segments may carry
 * base64 padding, which JWT libraries that re-encode them (RFC 7515 §2 forbids padding) would reject.
 */
import crypto from 'node:crypto';
import { request } from 'undici';

export interface AlbIdentityOptions {
  /** Where the load balancer's public keys are, by kid: `<keysUrl>/<kid>` answers the PEM. */
  keysUrl: string;
  /** The load balancer's ARN: the only `signer` accepted. */
  signer: string;
}

export type AlbVerdict = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

const decodeJson = (segment: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

export class AlbIdentity {
  // A kid names one key for good (ALB rotates by publishing a new kid), so a key fetched once is kept.
  readonly #keys = new Map<string, Promise<crypto.KeyObject | undefined>>();
  readonly #o: AlbIdentityOptions;

  constructor(o: AlbIdentityOptions) {
    this.#o = o;
  }

  async verify(token: string, now = Date.now()): Promise<AlbVerdict> {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'not a JWT' };
    const header = decodeJson(parts[0]!);
    const claims = decodeJson(parts[1]!);
    if (!header || !claims) return { ok: false, reason: 'not a JWT' };
    if (header.alg !== 'ES256') return { ok: false, reason: `alg ${String(header.alg)}, not ES256` };
    if (header.signer !== this.#o.signer) return { ok: false, reason: 'signed by another load balancer' };
    if (typeof header.kid !== 'string' || !/^[\w-]+$/.test(header.kid)) return { ok: false, reason: 'no usable kid' };
    const key = await this.#key(header.kid);
    if (!key) return { ok: false, reason: 'the load balancer does not publish that key' };
    const signed = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return { ok: false, reason: 'signature does not verify' };
    const exp = typeof header.exp === 'number' ? header.exp : claims.exp;
    if (typeof exp === 'number' && exp * 1000 <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  #key(kid: string): Promise<crypto.KeyObject | undefined> {
    let key = this.#keys.get(kid);
    if (!key) {
      key = request(`${this.#o.keysUrl.replace(/\/$/, '')}/${kid}`, { headersTimeout: 5000, bodyTimeout: 5000 })
        .then(async (res) => (res.statusCode === 200 ? crypto.createPublicKey(await res.body.text()) : (await res.body.dump(), undefined)))
        .catch(() => undefined);
      // A key that could not be fetched is asked for again next time: the endpoint may have been away.
      void key.then((k) => k || this.#keys.delete(kid));
      this.#keys.set(kid, key);
    }
    return key;
  }
}
