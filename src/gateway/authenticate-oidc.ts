/**
 * ALB's `authenticate-oidc` and `authenticate-cognito` actions (AWS, "Authenticate users using an Application Load
 * Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html),
 * the OpenID Connect authorization code flow (OIDC Core §3.1) run by the load balancer for the application:
 *
 *   1. A request without a session is redirected (302) to the provider's authorization endpoint with
 *      `response_type=code`, `client_id`, `redirect_uri=https://<Host>/oauth2/idpresponse`, `scope`, `state`, a
 *      `nonce`, and the action's extra parameters; an `AWSALBAuthNonce` cookie ties that `state` to this browser.
 *      Or, as OnUnauthenticatedRequest says: 401 (`deny`), or on to the target without identity (`allow`).
 *   2. The provider sends the browser back to /oauth2/idpresponse with a code. The gateway checks `state` and the
 *      nonce cookie, trades the code at the token endpoint (client authentication by HTTP Basic, RFC 6749 §2.3.1),
 *      checks the ID token's iss, aud, exp and nonce (OIDC Core §3.1.3.7: its signature may go unchecked, as it came
 *      straight from the token endpoint over TLS), asks the user-info endpoint for the user's claims (OIDC Core §5.3),
 *      seals them with the access token into the session cookie (auth-cookies.ts), and redirects to the URL first asked for.
 *   3. A request with a session reaches the target with `x-amzn-oidc-accesstoken`, `x-amzn-oidc-identity` (the
 *      user's `sub`) and `x-amzn-oidc-data`: the claims as a JWT signed ES256, its header carrying `kid`, `signer`
 *      (the load balancer's ARN), `iss`, `client` and `exp` as ALB's does. The public key is served as PEM by its
 *      kid, as ALB's regional public-key endpoint serves it (`AuthKeys.serve`).
 *
 * The provider's endpoints are called with Node's fetch: an HTTPS provider is trusted as Node trusts any server —
 * the system's CAs plus NODE_EXTRA_CA_CERTS. Each call has 5 s (the access log's AuthTokenEpRequestTimeout and
 * AuthUserinfoEpRequestTimeout). Failures map to failures.ts's `auth*` rows.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, type JWTPayload } from 'jose';
import { clearCookie, joinShards, MAX_SHARDS, NONCE_COOKIE, parseCookies, seal, setCookie, shardCookie, unseal } from './auth-cookies.ts';
import { GatewayConfigError, type AuthenticateAction } from './config.ts';
import { FAILURES, type GatewayFailure } from './failures.ts';

/** Where the provider sends the browser back: ALB's own path on every host it serves. */
export const CALLBACK_PATH = '/oauth2/idpresponse';
/** How long the gateway waits for the token and user-info endpoints (ALB's 5 s; shorter only in tests). */
export const ENDPOINT_TIMEOUT_MS = 5_000;
/** The largest user-info answer ALB takes (AuthUserinfoResponseSizeExceeded: "exceeded 11K bytes"). */
export const MAX_USERINFO_BYTES = 11 * 1024;
/** How long a sign-in may take between the redirect and the callback: the gateway's choice. */
const STATE_SECONDS = 900;
/** How long one x-amzn-oidc-data stays valid (the gateway's choice): short, as each is made for the moment. */
const DATA_SECONDS = 120;
/** A session's fields are reused while their x-amzn-oidc-data has at least this long to live. */
const REUSE_SECONDS = 60;
/** Sessions whose fields are kept ready: opening a session and signing ES256 cost ~0.4 ms a request (measured). */
const RECENT_SESSIONS = 1000;
/** The signer of x-amzn-oidc-data when no load balancer ARN is given: shaped as ALB's, in no real region. */
export const LOCAL_LB_ARN = 'arn:aws:elasticloadbalancing:local:000000000000:loadbalancer/app/receipt-gateway/0';
/** A Cognito user pool domain's OAuth endpoints (AWS, "User pool endpoints and managed login reference"). */
export const COGNITO_PATHS = { authorization: '/oauth2/authorize', token: '/oauth2/token', userinfo: '/oauth2/userInfo' } as const;

/** An action with ALB's defaults filled in and Cognito's user pool resolved to endpoints. */
export interface ResolvedAuthenticate {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userInfoEndpoint: string;
  clientId: string;
  clientSecret: string;
  cookieName: string;
  sessionTimeout: number;
  scope: string;
  onUnauthenticated: 'authenticate' | 'allow' | 'deny';
  extraParams: Record<string, string>;
}

/** ALB's defaults (AuthenticateOidcActionConfig): AWSELBAuthSessionCookie, 604800 s, `openid`, `authenticate`. */
export function resolveAuthenticate(a: AuthenticateAction, where: string = a.type): ResolvedAuthenticate {
  const common = {
    cookieName: a.sessionCookieName ?? 'AWSELBAuthSessionCookie',
    sessionTimeout: a.sessionTimeout ?? 604_800,
    scope: a.scope ?? 'openid',
    onUnauthenticated: a.onUnauthenticatedRequest ?? 'authenticate',
    extraParams: a.authenticationRequestExtraParams ?? {},
  };
  if (a.type === 'authenticate-oidc') {
    if (!a.clientSecret) throw new GatewayConfigError(`${where}: client ${a.clientId} has no secret (give it with --oidc-client-secret ${a.clientId}=SECRET)`);
    const { issuer, authorizationEndpoint, tokenEndpoint, userInfoEndpoint, clientId, clientSecret } = a;
    return { issuer, authorizationEndpoint, tokenEndpoint, userInfoEndpoint, clientId, clientSecret, ...common };
  }
  if (!a.issuer) throw new GatewayConfigError(`${where}: user pool ${a.userPoolArn} has no local issuer (give one with --cognito-issuer ${a.userPoolArn}=URL)`);
  if (!a.clientSecret) throw new GatewayConfigError(`${where}: app client ${a.userPoolClientId} has no secret (give it with --oidc-client-secret ${a.userPoolClientId}=SECRET)`);
  const base = a.issuer.replace(/\/+$/, '');
  return {
    issuer: a.issuer,
    authorizationEndpoint: base + COGNITO_PATHS.authorization,
    tokenEndpoint: base + COGNITO_PATHS.token,
    userInfoEndpoint: base + COGNITO_PATHS.userinfo,
    clientId: a.userPoolClientId,
    clientSecret: a.clientSecret,
    ...common,
  };
}

/**
 * The gateway's keys for sign-in, made at start: the key that seals sessions and `state`, and the ES256 (P-256) pair
 * that signs x-amzn-oidc-data, with its kid. A restart makes new ones, so every session ends with it.
 */
export class AuthKeys {
  readonly sealKey = new Uint8Array(crypto.randomBytes(32));
  readonly kid = crypto.randomUUID();
  readonly publicPem: string;
  /** The load balancer's ARN, x-amzn-oidc-data's `signer`. */
  readonly signer: string;
  readonly endpointTimeoutMs: number;
  readonly #signing: crypto.KeyObject;

  constructor(o: { signer?: string | undefined; endpointTimeoutMs?: number | undefined } = {}) {
    this.signer = o.signer ?? LOCAL_LB_ARN;
    this.endpointTimeoutMs = o.endpointTimeoutMs ?? ENDPOINT_TIMEOUT_MS;
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#signing = privateKey;
    this.publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /**
   * x-amzn-oidc-data: the user's claims, signed; the header fields ALB sets (alg, kid, signer, iss, client, exp).
   * Written as ALB writes it, not as RFC 7515 §2 would: each segment base64url *with* its `=` padding, and the
   * signature over the padded segments (AWS: "base64 URL encoded and includes padding characters at the end"). JWT
   * libraries that refuse padding refuse ALB's tokens too, and an app tested here should find that out here.
   */
  async userData(claims: JWTPayload, issuer: string, clientId: string): Promise<string> {
    const exp = Math.floor(Date.now() / 1000) + DATA_SECONDS;
    const padded = (b: Buffer) => {
      const s = b.toString('base64url');
      return s + '='.repeat((4 - (s.length % 4)) % 4);
    };
    const head = padded(Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: this.kid, signer: this.signer, iss: issuer, client: clientId, exp })));
    const body = padded(Buffer.from(JSON.stringify({ ...claims, iss: issuer, exp })));
    // ES256's signature is the raw r‖s pair (RFC 7518 §3.4), not DER.
    const signature = crypto.sign('sha256', Buffer.from(`${head}.${body}`), { key: this.#signing, dsaEncoding: 'ieee-p1363' });
    return `${head}.${body}.${padded(signature)}`;
  }

  /**
   * The public key as ALB's endpoint gives it (`https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`: the PEM
   * text of the key, by the kid of the token's header), here at `http://<host>:<port>/<kid>`.
   */
  async serve(host: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      if (req.url === `/${this.kid}` && (req.method === 'GET' || req.method === 'HEAD')) res.writeHead(200, { 'content-type': 'text/plain' }).end(this.publicPem);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('no key by that id\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`,
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  }
}

/** What a flow says of a request: the target's identity fields, a redirect to sign in, a failure, or on without identity. */
export type AuthOutcome =
  | { kind: 'signed-in'; fields: string[] }
  | { kind: 'anonymous' }
  | { kind: 'answer'; status: 302; location: string; cookies: string[] }
  | { kind: 'fail'; failure: GatewayFailure; cookies?: string[] };

const fail = (failure: GatewayFailure, cookies?: string[]): AuthOutcome => ({ kind: 'fail', failure, ...(cookies?.length ? { cookies } : {}) });

/** Set-Cookie lines removing the session's shards the browser sent, from shard `from` on. */
const clearShards = (name: string, sent: Map<string, string>, from = 0): string[] => {
  const out: string[] = [];
  for (let i = from; i < MAX_SHARDS; i++) if (sent.has(`${name}-${i}`)) out.push(clearCookie(`${name}-${i}`));
  return out;
};
const seconds = () => Math.floor(Date.now() / 1000);

/** One call to a provider's endpoint: its status and body text, or which failure a dead or slow endpoint is. */
async function call(url: string, init: RequestInit, ms: number, timeout: GatewayFailure, unreachable: GatewayFailure): Promise<{ status: number; text: string } | GatewayFailure> {
  try {
    const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(ms) });
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return (e as Error).name === 'TimeoutError' ? timeout : unreachable;
  }
}

const jsonObject = (text: string): Record<string, unknown> | undefined => {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** One rule's authenticate action, compiled: its settings, and the gateway's keys. */
export class AuthFlow {
  readonly config: ResolvedAuthenticate;
  /** The fields of recently seen sessions, by their sealed value, until `until` (ms); oldest first, at most RECENT_SESSIONS. */
  readonly #recent = new Map<string, { fields: string[]; until: number }>();

  constructor(
    action: AuthenticateAction,
    /** Names this flow in its `state`, among the listener's flows. */
    readonly id: string,
    readonly keys: AuthKeys,
    where?: string,
  ) {
    this.config = resolveAuthenticate(action, where ?? action.type);
  }

  /** A request to the rule: its session, or what OnUnauthenticatedRequest says. */
  async check(cookieHeader: string | string[] | undefined, host: string, url: string): Promise<AuthOutcome> {
    const c = this.config;
    const cookies = parseCookies(cookieHeader);
    const value = joinShards(cookies, c.cookieName);
    if (value !== undefined) {
      const recent = this.#recent.get(value);
      if (recent && recent.until > Date.now()) return { kind: 'signed-in', fields: recent.fields };
      const session = await unseal(value, this.keys.sealKey);
      // The 401 also removes the cookie: one sealed by this gateway before a restart (a new key) would otherwise be
      // refused on every request until it expired, where removing it lets the next request sign in again.
      if (session === 'invalid') return fail(FAILURES.authInvalidCookie, clearShards(c.cookieName, cookies));
      // A session another rule's provider or client made is no session here (its claims are not this provider's).
      if (session !== 'expired' && session.payload.iss === c.issuer && session.payload.cl === c.clientId) {
        const claims = session.payload.c as JWTPayload;
        const fields = [
          'x-amzn-oidc-accesstoken', String(session.payload.at),
          'x-amzn-oidc-identity', String(claims.sub),
          'x-amzn-oidc-data', await this.keys.userData(claims, c.issuer, c.clientId),
        ];
        // Kept while the signed data has a minute left, and never past the session's own end.
        this.#recent.delete(value);
        this.#recent.set(value, { fields, until: Math.min(Date.now() + (DATA_SECONDS - REUSE_SECONDS) * 1000, Number(session.payload.exp) * 1000) });
        if (this.#recent.size > RECENT_SESSIONS) this.#recent.delete(this.#recent.keys().next().value!);
        return { kind: 'signed-in', fields };
      }
      // An expired session, or another provider's, is no session: the user signs in again.
    }
    if (c.onUnauthenticated === 'deny') return fail(FAILURES.authDenied);
    if (c.onUnauthenticated === 'allow') return { kind: 'anonymous' };
    return this.#redirect(host, url);
  }

  /** The redirect to the authorization endpoint (OIDC Core §3.1.2.1), with the nonce cookie that binds its state. */
  async #redirect(host: string, url: string): Promise<AuthOutcome> {
    const c = this.config;
    const nonce = crypto.randomBytes(16).toString('base64url');
    const state = await seal({ f: this.id, u: url, n: nonce }, this.keys.sealKey, seconds() + STATE_SECONDS);
    const location = new URL(c.authorizationEndpoint);
    for (const [k, v] of Object.entries(c.extraParams)) location.searchParams.set(k, v);
    location.searchParams.set('response_type', 'code');
    location.searchParams.set('client_id', c.clientId);
    location.searchParams.set('redirect_uri', `https://${host}${CALLBACK_PATH}`);
    location.searchParams.set('scope', c.scope);
    location.searchParams.set('state', state);
    location.searchParams.set('nonce', nonce);
    return { kind: 'answer', status: 302, location: location.href, cookies: [setCookie(NONCE_COOKIE, nonce)] };
  }

  /** The code traded for tokens and claims; the session cookie set; the browser sent back where it started. */
  async finish(code: string, nonce: string, host: string, url: string, cookies: Map<string, string>): Promise<AuthOutcome> {
    const c = this.config;
    const redirectUri = `https://${host}${CALLBACK_PATH}`;
    // RFC 6749 §2.3.1: the id and secret are form-encoded, then joined for HTTP Basic.
    const basic = Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64');
    const token = await call(
      c.tokenEndpoint,
      {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }).toString(),
      },
      this.keys.endpointTimeoutMs,
      FAILURES.authTokenTimeout,
      FAILURES.authTokenConnection,
    );
    if ('reason' in token) return fail(token);
    const tokens = jsonObject(token.text);
    // RFC 6749 §5.2: a refused code is `invalid_grant`.
    if (token.status !== 200) return fail(tokens?.error === 'invalid_grant' ? FAILURES.authInvalidGrant : FAILURES.authInvalidTokenResponse);
    if (!tokens || typeof tokens.access_token !== 'string' || typeof tokens.id_token !== 'string') return fail(FAILURES.authInvalidTokenResponse);
    const idSub = this.#idTokenSub(tokens.id_token, nonce);
    if (idSub === undefined) return fail(FAILURES.authInvalidIdToken);

    const info = await call(
      c.userInfoEndpoint,
      { headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' } },
      this.keys.endpointTimeoutMs,
      FAILURES.authUserinfoTimeout,
      FAILURES.authUserinfoConnection,
    );
    if ('reason' in info) return fail(info);
    if (Buffer.byteLength(info.text) > MAX_USERINFO_BYTES) return fail(FAILURES.authUserinfoTooLarge);
    const claims = info.status === 200 ? jsonObject(info.text) : undefined;
    // OIDC Core §5.3.2: the answer always carries `sub`, and it MUST be the ID token's, or the answer is not used.
    if (!claims || claims.sub !== idSub) return fail(FAILURES.authInvalidUserinfo);

    const exp = seconds() + c.sessionTimeout;
    const shards = shardCookie(c.cookieName, await seal({ at: tokens.access_token, c: claims, iss: c.issuer, cl: c.clientId }, this.keys.sealKey, exp));
    if (!shards) return fail(FAILURES.authUnhandled);
    const expires = new Date(exp * 1000);
    const set = shards.map(([name, value]) => setCookie(name, value, expires));
    // Shards an earlier, longer session left behind would be joined to this one.
    set.push(...clearShards(c.cookieName, cookies, shards.length));
    set.push(clearCookie(NONCE_COOKIE));
    return { kind: 'answer', status: 302, location: url, cookies: set };
  }

  /**
   * The ID token's `sub` when it holds (OIDC Core §3.1.3.7: issued by the configured issuer, for this client, not
   * expired, with this sign-in's nonce); undefined when it does not.
   */
  #idTokenSub(idToken: string, nonce: string): string | undefined {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(idToken);
    } catch {
      return undefined;
    }
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const holds = claims.iss === this.config.issuer && aud.includes(this.config.clientId) && typeof claims.exp === 'number' && claims.exp > seconds() && claims.nonce === nonce;
    return holds && typeof claims.sub === 'string' ? claims.sub : undefined;
  }
}

/**
 * The callback, /oauth2/idpresponse: which of the listener's flows `state` names, checked against the nonce cookie,
 * then that flow's `finish`. The provider's own error (OIDC Core §3.1.2.6) is answered 561.
 */
export async function authCallback(flows: ReadonlyMap<string, AuthFlow>, query: string, cookieHeader: string | string[] | undefined, host: string): Promise<AuthOutcome> {
  const params = new URLSearchParams(query);
  if (params.has('error')) return fail(FAILURES.authIdpError);
  const stateParam = params.get('state');
  if (!stateParam) return fail(FAILURES.authMissingState);
  // Any flow's keys open any state: the keys are the gateway's.
  const keys = flows.values().next().value!.keys;
  const state = await unseal(stateParam, keys.sealKey);
  const flow = typeof state === 'object' ? flows.get(String(state.payload.f)) : undefined;
  if (typeof state !== 'object' || !flow) return fail(FAILURES.authInvalidState);
  const cookies = parseCookies(cookieHeader);
  const nonce = cookies.get(NONCE_COOKIE);
  if (!nonce) return fail(FAILURES.authMissingNonce);
  if (nonce !== state.payload.n) return fail(FAILURES.authInvalidNonce);
  const code = params.get('code');
  if (!code) return fail(FAILURES.authMissingCode);
  return flow.finish(code, nonce, host, String(state.payload.u), cookies);
}
