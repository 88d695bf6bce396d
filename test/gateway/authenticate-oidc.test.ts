/**
 * ALB's authenticate-oidc action (AWS, "Authenticate users using an Application Load Balancer") over real sockets,
 * against a real OpenID provider (oidc-provider, src/idp/local-provider.ts): the gateway's HTTPS listener redirects
 * to the provider with state and nonce; the test signs in at the provider's form with a cookie jar; the callback sets
 * the sharded session cookie and sends the browser back; the target then gets x-amzn-oidc-accesstoken, -identity and
 * -data, the last verified with the public key the gateway serves by kid. Also: deny, allow, a changed cookie, an
 * expired session, a bad state, a replayed code, a dead token endpoint, claims over 11 KB — each with ALB's status and
 * the access log's error_reason.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import crypto from 'node:crypto';
import tls from 'node:tls';
import { importSPKI, jwtVerify } from 'jose';
import { Agent, request } from 'undici';
import type { Action, AuthenticateOidcAction, GatewayConfig } from '../../src/gateway/config.ts';
import { cookieHeader, signInAtProvider, storeCookies, type Jar } from '../../src/idp/browser.ts';
import { startLocalProvider, type LocalProvider } from '../../src/idp/local-provider.ts';
import { certificateFor } from '../support/certificates.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

const HOST = 'app.test';
const POOL = 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Example';
const CALLBACK = `https://${HOST}/oauth2/idpresponse`;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

let target: HttpTarget;
let idp: LocalProvider;
let gw: Awaited<ReturnType<typeof gatewayUnderTest>>;
let base: string;

/** A request to the gateway's HTTPS listener as a browser at https://app.test would send it. */
async function get(path: string, jar: Jar = new Map(), headers: Record<string, string> = {}) {
  const r = await request(`${base}${path}`, { dispatcher: insecure, headers: { host: HOST, ...(jar.size ? { cookie: cookieHeader(jar) } : {}), ...headers } });
  const body = await r.body.text();
  const setCookie = r.headers['set-cookie'];
  storeCookies(jar, setCookie);
  return { status: r.statusCode, location: r.headers.location as string | undefined, setCookie: ([] as string[]).concat(setCookie ?? []), body };
}

/** A whole sign-in from `path`: the gateway's redirect, the provider, the callback. Returns the browser's jar. */
async function signIn(path: string, username = 'ana', password = 'secret') {
  const jar: Jar = new Map();
  const first = await get(path, jar);
  assert.equal(first.status, 302);
  const back = await signInAtProvider(first.location!, { username, password }, (u) => u.startsWith(CALLBACK));
  const callback = await get(back.slice(`https://${HOST}`.length), jar);
  return { jar, first, callback, back };
}

const oidc = (over: Partial<AuthenticateOidcAction> = {}): AuthenticateOidcAction => ({
  type: 'authenticate-oidc',
  issuer: idp.issuer,
  authorizationEndpoint: idp.authorizationEndpoint,
  tokenEndpoint: idp.tokenEndpoint,
  userInfoEndpoint: idp.userInfoEndpoint,
  clientId: 'shop-admin',
  clientSecret: 'shop-admin-secret',
  ...over,
});
const forward: Action = { type: 'forward', targetGroups: [{ name: 'app' }] };
const rule = (priority: number, path: string, auth: AuthenticateOidcAction) => ({ priority, conditions: [{ field: 'path-pattern' as const, values: [path] }], actions: [auth, forward] });

before(async () => {
  target = await httpTarget('app');
  idp = await startLocalProvider({
    clients: [{ clientId: 'shop-admin', clientSecret: 'shop-admin-secret', redirectUris: [CALLBACK] }],
    users: [
      { username: 'ana', password: 'secret', claims: { email: 'ana@example.com', name: 'Ana' } },
      // Claims that take more than one 4 KB cookie, and claims over ALB's 11 KB.
      { username: 'bea', password: 'secret', claims: { name: 'Bea', bio: 'b'.repeat(5000) } },
      { username: 'cy', password: 'secret', claims: { name: 'Cy', bio: 'c'.repeat(12_000) } },
    ],
  });
  const config: GatewayConfig = {
    listeners: [
      { protocol: 'HTTP', port: 0, defaultActions: [forward] },
      {
        protocol: 'HTTPS',
        port: 0,
        rules: [
          rule(1, '/admin/*', oidc({ scope: 'openid email profile', authenticationRequestExtraParams: { ui_locales: 'en' } })),
          rule(2, '/deny/*', oidc({ onUnauthenticatedRequest: 'deny' })),
          rule(3, '/open/*', oidc({ onUnauthenticatedRequest: 'allow' })),
          // A token endpoint nobody listens on (port 1 on loopback refuses).
          rule(4, '/down/*', oidc({ tokenEndpoint: 'http://127.0.0.1:1/oauth2/token' })),
          rule(5, '/short/*', oidc({ sessionTimeout: 2, sessionCookieName: 'Short' })),
          // The same provider and cookie name, another client: its sessions are not /admin's.
          rule(7, '/other/*', oidc({ clientId: 'other-client', clientSecret: 'other-secret' })),
          {
            priority: 6,
            conditions: [{ field: 'path-pattern', values: ['/pool/*'] }],
            // A user pool for which the local provider stands in (its endpoints at Cognito's paths).
            actions: [{ type: 'authenticate-cognito', userPoolArn: POOL, userPoolClientId: 'shop-admin', userPoolDomain: 'shop-auth', issuer: idp.issuer, clientSecret: 'shop-admin-secret' }, forward],
          },
        ],
        defaultActions: [forward],
      },
    ],
    targetGroups: [{ name: 'app', healthCheck: { enabled: false }, targets: [{ id: 'app', host: '127.0.0.1', port: target.port }] }],
  };
  gw = await gatewayUnderTest(config, await certificateFor([HOST]));
  base = `https://127.0.0.1:${gw.gateway.listener('https')!.port}`;
});
after(async () => {
  await gw.close();
  await idp.close();
  await target.close();
});

describe('authenticate-oidc against a real provider', () => {
  it('signs a user in: redirect with state and nonce, the provider, the callback, the session cookie, back to the first URL', async () => {
    const { jar, first, callback } = await signIn('/admin/orders?page=2');
    const to = new URL(first.location!);
    assert.equal(to.origin + to.pathname, idp.authorizationEndpoint);
    assert.equal(to.searchParams.get('response_type'), 'code');
    assert.equal(to.searchParams.get('client_id'), 'shop-admin');
    assert.equal(to.searchParams.get('redirect_uri'), CALLBACK);
    assert.equal(to.searchParams.get('scope'), 'openid email profile');
    assert.equal(to.searchParams.get('ui_locales'), 'en');
    assert.ok(to.searchParams.get('state'));
    assert.ok(to.searchParams.get('nonce'));
    assert.ok(first.setCookie.some((c) => c.startsWith('AWSALBAuthNonce=') && /; Secure/.test(c) && /; HttpOnly/.test(c)));
    assert.equal((await gw.logFor('/admin/orders?page=2')).actionsExecuted, 'authenticate');

    assert.equal(callback.status, 302);
    assert.equal(callback.location, `https://${HOST}/admin/orders?page=2`);
    const session = callback.setCookie.find((c) => c.startsWith('AWSELBAuthSessionCookie-0='))!;
    assert.match(session, /; Expires=[^;]+; Path=\/; Secure; HttpOnly$/);
    assert.ok(!jar.has('AWSALBAuthNonce'), 'the nonce cookie is removed once used');

    const r = await get('/admin/orders?page=2', jar, { 'x-amzn-oidc-identity': 'mallory' });
    assert.equal(r.status, 200);
    const h = target.lastHeaders!;
    assert.equal(h['x-amzn-oidc-identity'], 'ana', "the client's own identity field never reaches the target");
    assert.ok(h['x-amzn-oidc-accesstoken']);
    const data = String(h['x-amzn-oidc-data']);
    // As ALB writes it: three base64url segments that keep their `=` padding (AWS: "includes padding characters").
    const segments = data.split('.') as [string, string, string];
    assert.equal(segments.length, 3);
    for (const seg of segments) assert.equal(seg.length % 4, 0, `a padded segment: ${seg}`);
    const header = JSON.parse(Buffer.from(segments[0], 'base64url').toString()) as Record<string, unknown>;
    assert.equal(header.alg, 'ES256');
    assert.equal(header.iss, idp.issuer);
    assert.equal(header.client, 'shop-admin');
    assert.match(String(header.signer), /^arn:aws:elasticloadbalancing:/);
    assert.equal(typeof header.exp, 'number');
    // The public key as ALB serves it: PEM text at <endpoint>/<kid>.
    const pem = await (await request(`${gw.gateway.publicKeysUrl}${String(header.kid)}`)).body.text();
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    // Verified as AWS's own example does it: the signature (raw r‖s) over the two first segments as received.
    const signed = crypto.verify('sha256', Buffer.from(`${segments[0]}.${segments[1]}`), { key: pem, dsaEncoding: 'ieee-p1363' }, Buffer.from(segments[2], 'base64url'));
    assert.ok(signed, 'the signature verifies with the served key');
    // jose reads padded segments (stricter libraries do not, on AWS either), and checks the same signature.
    const { payload } = await jwtVerify(data, await importSPKI(pem, 'ES256'), { algorithms: ['ES256'] });
    assert.equal(payload.sub, 'ana');
    assert.equal(payload.email, 'ana@example.com');
    assert.equal((await gw.logFor('/admin/orders?page=2')).actionsExecuted, 'authenticate,forward');
  });

  it('authenticate-cognito: the user pool is the local issuer, its endpoints at the user pool domain’s paths', async () => {
    const { jar, first, callback } = await signIn('/pool/reports');
    assert.ok(first.location!.startsWith(`${idp.issuer}/oauth2/authorize?`));
    assert.equal(callback.location, `https://${HOST}/pool/reports`);
    assert.equal((await get('/pool/reports', jar)).status, 200);
    assert.equal(target.lastHeaders!['x-amzn-oidc-identity'], 'ana');
  });

  it('over HTTP/2 too: the redirect’s cookie, and a session sent as cookie crumbs (RFC 9113 §8.2.3)', async () => {
    const { jar } = await signIn('/admin/h2');
    const session = http2.connect(base, { rejectUnauthorized: false });
    const h2get = (headers: http2.OutgoingHttpHeaders) =>
      new Promise<{ status: number; setCookie: string[] }>((resolve, reject) => {
        const s = session.request({ ':path': '/admin/h2', ':authority': HOST, ...headers });
        s.on('response', (h) => {
          s.resume();
          s.on('end', () => resolve({ status: Number(h[':status']), setCookie: ([] as string[]).concat(h['set-cookie'] ?? []) }));
        });
        s.on('error', reject);
      });
    try {
      const anonymous = await h2get({});
      assert.equal(anonymous.status, 302);
      assert.ok(anonymous.setCookie.some((c) => c.startsWith('AWSALBAuthNonce=')));
      // Each cookie its own field, as HTTP/2 clients may send them.
      const signedIn = await h2get({ cookie: [...jar].map(([k, v]) => `${k}=${v}`) });
      assert.equal(signedIn.status, 200);
      assert.equal(target.lastHeaders!['x-amzn-oidc-identity'], 'ana');
    } finally {
      session.close();
    }
  });

  it('splits a session over 4 KB into AWSELBAuthSessionCookie-0, -1, … and joins them again', async () => {
    const { jar, callback } = await signIn('/admin/bea', 'bea');
    assert.equal(callback.status, 302);
    assert.ok(jar.has('AWSELBAuthSessionCookie-0') && jar.has('AWSELBAuthSessionCookie-1'));
    for (const c of callback.setCookie.filter((c) => c.startsWith('AWSELBAuthSessionCookie-'))) assert.ok(c.split(';')[0]!.length <= 4096);
    const r = await get('/admin/bea', jar);
    assert.equal(r.status, 200);
    assert.equal(target.lastHeaders!['x-amzn-oidc-identity'], 'bea');
  });

  it('answers 500 AuthUserinfoResponseSizeExceeded for claims over 11 KB', async () => {
    const { callback, back } = await signIn('/admin/cy', 'cy');
    assert.equal(callback.status, 500);
    assert.equal((await gw.logFor(new URL(back).search)).errorReason, 'AuthUserinfoResponseSizeExceeded');
  });

  it('answers 401 AuthInvalidCookie to a session cookie that was changed', async () => {
    const { jar } = await signIn('/admin/x');
    const v = jar.get('AWSELBAuthSessionCookie-0')!;
    jar.set('AWSELBAuthSessionCookie-0', v.slice(0, -3) + (v.endsWith('AAA') ? 'BBB' : 'AAA'));
    const r = await get('/admin/changed', jar);
    assert.equal(r.status, 401);
    assert.equal((await gw.logFor('/admin/changed')).errorReason, 'AuthInvalidCookie');
    // The 401 removes the cookie that cannot open (one from before a restart, say), so the next request signs in.
    assert.ok(r.setCookie.some((c) => c.startsWith('AWSELBAuthSessionCookie-0=;')), r.setCookie.join(' | '));
    assert.ok(!jar.has('AWSELBAuthSessionCookie-0'));
    assert.equal((await get('/admin/changed', jar)).status, 302);
  });

  it('a session made for one provider’s client is no session on a rule of another client: sign in there too', async () => {
    const { jar } = await signIn('/admin/x');
    const r = await get('/other/page', jar);
    assert.equal(r.status, 302);
    assert.equal(new URL(r.location!).searchParams.get('client_id'), 'other-client');
    assert.equal((await get('/admin/again', jar)).status, 200, 'the session still holds where it was made');
  });

  it('SessionCookieName and SessionTimeout: a user whose session expired is sent to sign in again', async () => {
    const { jar } = await signIn('/short/a');
    assert.ok(jar.has('Short-0') && !jar.has('AWSELBAuthSessionCookie-0'), 'SessionCookieName names the shards');
    assert.equal((await get('/short/a', jar)).status, 200);
    // SessionTimeout 2 s (exp in whole seconds, so at least 1 s from the sign-in): 3 s later it is over.
    await new Promise((r) => setTimeout(r, 3100));
    const r = await get('/short/later', jar);
    assert.equal(r.status, 302);
    assert.ok(r.location!.startsWith(idp.authorizationEndpoint));
  });

  it('answers 401 to a callback with a missing or foreign state, a missing or other nonce, or a replayed code', async () => {
    assert.equal((await get('/oauth2/idpresponse?code=abc')).status, 401);
    assert.equal((await gw.logFor('/oauth2/idpresponse?code=abc')).errorReason, 'AuthMissingStateParam');
    assert.equal((await get('/oauth2/idpresponse?code=abc&state=forged', new Map([['AWSALBAuthNonce', 'n']]))).status, 401);
    assert.equal((await gw.logFor('state=forged')).errorReason, 'AuthInvalidStateParam');

    const { jar, back, first } = await signIn('/admin/replay');
    const nonce = first.setCookie.find((c) => c.startsWith('AWSALBAuthNonce='))!.split(';')[0]!.split('=')[1]!;
    const path = back.slice(`https://${HOST}`.length);
    // The same state from another browser: no nonce cookie, or another one.
    assert.equal((await get(path, new Map())).status, 401);
    assert.equal((await gw.logFor(new URL(back).search)).errorReason, 'AuthMissingAWSALBAuthNonce');
    assert.equal((await get(path, new Map([['AWSALBAuthNonce', 'someone-else']]))).status, 401);
    assert.equal((await gw.logFor(new URL(back).search)).errorReason, 'AuthInvalidAWSALBAuthNonce');
    // The code was spent by the sign-in: the provider says invalid_grant (RFC 6749 §5.2).
    jar.set('AWSALBAuthNonce', nonce);
    assert.equal((await get(path, jar)).status, 401);
    assert.equal((await gw.logFor(new URL(back).search)).errorReason, 'AuthInvalidGrantError');
  });

  it('answers 561 when the provider sends the user back with an error', async () => {
    const r = await get('/oauth2/idpresponse?error=access_denied&state=x');
    assert.equal(r.status, 561);
    assert.equal((await gw.logFor('error=access_denied&state=x')).errorReason, 'AuthIdpError');
  });

  it('answers 500 AuthTokenEpRequestConnectionError when the token endpoint cannot be reached', async () => {
    const jar: Jar = new Map();
    const first = await get('/down/page', jar);
    const state = new URL(first.location!).searchParams.get('state')!;
    const r = await get(`/oauth2/idpresponse?state=${encodeURIComponent(state)}&code=any`, jar);
    assert.equal(r.status, 500);
    assert.ok(!r.body.includes(' at '), 'no stack trace in a 5xx body');
    assert.equal((await gw.logFor('&code=any')).errorReason, 'AuthTokenEpRequestConnectionError');
  });

  it('deny: 401 without a session, no redirect', async () => {
    const r = await get('/deny/page');
    assert.equal(r.status, 401);
    assert.equal(r.location, undefined);
    const log = await gw.logFor('/deny/page');
    assert.equal(log.errorReason, 'AuthDenied');
    assert.equal(log.actionsExecuted, 'authenticate');
  });

  it('an HTTP/1.0 request without Host where a sign-in needs one: 401 AuthMissingHostHeader (no URL to send it back to)', async () => {
    const port = gw.gateway.listener('https')!.port;
    const answer = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.write('GET /admin/no-host HTTP/1.0\r\n\r\n'));
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (text += d));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.[01] 401 /);
    assert.doesNotMatch(answer, /\r\nLocation:/i);
    assert.equal((await gw.logFor('/admin/no-host')).errorReason, 'AuthMissingHostHeader');
  });

  it('allow: forwarded without identity, and a client cannot forge one', async () => {
    const r = await get('/open/page', new Map(), { 'x-amzn-oidc-identity': 'mallory', 'x-amzn-oidc-data': 'forged' });
    assert.equal(r.status, 200);
    assert.equal(target.lastHeaders!['x-amzn-oidc-identity'], undefined);
    assert.equal(target.lastHeaders!['x-amzn-oidc-data'], undefined);
    assert.equal((await gw.logFor('/open/page')).actionsExecuted, 'authenticate,forward');
  });
});
