/**
 * A local OpenID Connect provider for the gateway's sign-in (ALB's `authenticate-oidc` / `authenticate-cognito`):
 * `oidc-provider` (an OpenID Certified implementation of OpenID Connect Core 1.0), not a stub, on loopback with one
 * or more confidential clients, a few test users, and the smallest login and consent pages that let a browser — or a
 * test with a cookie jar — sign in.
 *
 * Its endpoints sit at the paths of an Amazon Cognito user pool domain (AWS, "User pool endpoints and managed login
 * reference": /oauth2/authorize, /oauth2/token, /oauth2/userInfo), so one provider stands in for an OIDC issuer and
 * for a user pool alike; its discovery document (/.well-known/openid-configuration) names them.
 *
 * Used by the tests, and meant for `receipt start` to protect the shop's admin path.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';
import { COGNITO_PATHS } from '../gateway/authenticate-oidc.ts';
import { memoryStore } from './memory-adapter.ts';

export interface LocalClient {
  clientId: string;
  clientSecret: string;
  /** Where the provider may send the code: ALB's `https://<host>/oauth2/idpresponse`. */
  redirectUris: string[];
  /** How it authenticates at the token endpoint (RFC 6749 §2.3.1): HTTP Basic (ALB's way) unless said. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
}

export interface LocalUser {
  /** The login name typed into the form; also the `sub` unless `sub` is given. */
  username: string;
  password: string;
  sub?: string;
  /** Further claims the user-info endpoint returns (name, email, …). */
  claims?: Record<string, unknown>;
}

export interface LocalProvider {
  /** The issuer URL, e.g. http://127.0.0.1:41234 — also the base of every endpoint. */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userInfoEndpoint: string;
  close(): Promise<void>;
}


const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function formOf(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Starts the provider on `host:port` (127.0.0.1 and a free port unless said), over HTTPS when given a certificate and
 * key. Its issuer is `http(s)://<issuerHost or host>:port`, or `issuer` when given (the URL it is reached by).
 */
export async function startLocalProvider(o: {
  clients: LocalClient[];
  users: LocalUser[];
  host?: string;
  port?: number;
  issuer?: string;
  /** The name in the issuer URL when it is not `host` (`localhost`, for a certificate made for that name). */
  issuerHost?: string;
  tls?: { key: string; cert: string };
}): Promise<LocalProvider> {
  const server = o.tls ? https.createServer(o.tls) : http.createServer();
  // Named by `issuerHost` alone, it listens on every address: `localhost` may resolve to either family.
  const host = o.host ?? (o.issuerHost ? undefined : '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const issuer = o.issuer ?? `${o.tls ? 'https' : 'http'}://${o.issuerHost ?? host}:${(server.address() as AddressInfo).port}`;
  const users = new Map(o.users.map((u) => [u.sub ?? u.username, u]));
  // The ID token's signing key (RS256, OIDC Core §15.1's mandatory algorithm), made per start.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const configuration: Configuration = {
    adapter: memoryStore(),
    clients: o.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.authMethod ?? 'client_secret_basic',
    })),
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'local-1', alg: 'RS256', use: 'sig' }] as never },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    // Scopes to claims (OIDC Core §5.4); a user's further claims come with `profile`.
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: [...new Set(['name', 'preferred_username', ...o.users.flatMap((u) => Object.keys(u.claims ?? {}).filter((k) => !k.startsWith('email')))])],
    },
    // ALB sends no PKCE parameters (its authorization request is client_id, redirect_uri, response_type, scope, state).
    pkce: { required: () => false },
    features: { devInteractions: { enabled: false } },
    // Lifetimes in seconds, said so oidc-provider does not warn of its defaults: a sign-in takes minutes, a token an hour.
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60 },
    routes: { authorization: COGNITO_PATHS.authorization, token: COGNITO_PATHS.token, userinfo: COGNITO_PATHS.userinfo, jwks: '/.well-known/jwks.json' },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const user = users.get(id);
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ preferred_username: user.username, ...user.claims, sub: id }) };
    },
  };
  const provider = new Provider(issuer, configuration);
  // No proxy in front: the request's own scheme is the truth.
  provider.proxy = false;
  const callback = provider.callback();

  /** The two prompts oidc-provider asks its host to answer: who the user is (login), and what they allow (consent). */
  async function interaction(req: http.IncomingMessage, res: http.ServerResponse, uid: string, step: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const { prompt, params } = details;
    if (req.method === 'GET') {
      const body =
        prompt.name === 'login'
          ? `<form method="post" action="/interaction/${uid}/login"><label>User <input name="username" autofocus></label> <label>Password <input name="password" type="password"></label> <button>Sign in</button></form>`
          : `<p>${escape(String(params.client_id))} asks for ${escape(String(params.scope))}.</p><form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page(prompt.name === 'login' ? 'Sign in' : 'Allow access', body));
      return;
    }
    if (step === 'login' && prompt.name === 'login') {
      const form = await formOf(req);
      const user = [...users.entries()].find(([, u]) => u.username === form.get('username') && u.password === form.get('password'));
      if (!user) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end(page('Sign in', `<p>Wrong user or password.</p><p><a href="/interaction/${uid}">Try again</a></p>`));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: user[0] } }, { mergeWithLastSubmission: false });
      return;
    }
    if (step === 'confirm' && prompt.name === 'consent') {
      const d = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(params.client_id) });
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`no ${step ?? 'page'} for the ${prompt.name} prompt`);
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/.exec((req.url ?? '').split('?')[0]!);
    if (!m) return void callback(req, res);
    interaction(req, res, m[1]!, m[2]).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
    });
  });
  return {
    issuer,
    authorizationEndpoint: issuer + COGNITO_PATHS.authorization,
    tokenEndpoint: issuer + COGNITO_PATHS.token,
    userInfoEndpoint: issuer + COGNITO_PATHS.userinfo,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
