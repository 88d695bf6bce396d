/**
 * The admin console behind the load balancer's sign-in, as `receipt start` runs it (issue 23, item 5): the default
 * gateway puts ALB's authenticate-oidc action in front of /console, against its own local OpenID provider; the shop
 * checks the claims the gateway signs. Driven from outside over real sockets: the HTTPS listener, the provider's own
 * login pages, a target reached directly.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';
import { cookieHeader, signInAtProvider, storeCookies, type Jar } from '../../src/idp/browser.ts';
import { eventually, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

const insecure = new Agent({ connect: { rejectUnauthorized: false } });
let s: SystemUnderTest;
let https: string;

before(async () => {
  s = await systemUnderTest({ TARGETS: '1' });
  https = `https://localhost:${new URL(s.system.httpsUrl).port}`;
});
after(() => s?.stop());

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await request(url, { dispatcher: insecure, headers });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

/** A browser's sign-in from /console: the load balancer's redirect, the provider's pages, the callback. */
async function signIn(username: string) {
  // The browser's cookies for the load balancer's site: the sign-in's nonce cookie first, then the session's shards.
  const jar: Jar = new Map();
  const first = await get(`${https}/console`);
  assert.equal(first.status, 302);
  storeCookies(jar, first.headers['set-cookie']);
  const back = await signInAtProvider(String(first.headers.location), { username, password: `${username}-pass` }, (u) => u.startsWith(`${https}/oauth2/idpresponse`));
  const callback = await get(back, { cookie: cookieHeader(jar) });
  assert.equal(callback.status, 302, callback.body);
  assert.equal(callback.headers.location, `${https}/console`);
  storeCookies(jar, callback.headers['set-cookie']);
  return { cookie: cookieHeader(jar), jar };
}

describe('receipt start: /console behind the load balancer’s sign-in', () => {
  it('the banner’s pieces: a provider, and the key that signs the claims served by kid', () => {
    assert.ok(s.system.signIn, 'the running system names its sign-in');
    assert.match(s.system.signIn!.consoleUrl, /^https:\/\/localhost:\d+\/console$/);
    assert.match(s.system.signIn!.keysUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('over HTTP: 302 to HTTPS first — ALB signs users in on HTTPS listeners only', async () => {
    const r = await s.call('GET', '/console');
    assert.equal(r.statusCode, 302);
    assert.match(String(r.headers.location), /^https:\/\/127\.0\.0\.1:\d+\/console$/);
  });

  it('a script without a session: 401 from the load balancer (deny), the shop never asked', async () => {
    const r = await get(`${https}/console/reports`, { accept: 'application/json' });
    assert.equal(r.status, 401);
    let line: string[] | undefined;
    await eventually(async () => {
      line = fs.readFileSync(s.system.accessLogFile, 'utf8').trim().split('\n').map(parseAccessLine).reverse().find((f) => f[FIELD.request]?.includes('/console/reports'));
      return !!line;
    }, 3000, 'the access-log line');
    assert.equal(line![FIELD.target], '-');
    assert.equal(line![FIELD.errorReason], 'AuthDenied');
  });

  it('an admin signs in at the provider and reads the console; the shop verified the claims the gateway signed', async () => {
    const admin = await signIn('admin');
    assert.ok(admin.jar.has('AWSELBAuthSessionCookie-0'));
    const page = await get(`${https}/console`, { cookie: admin.cookie });
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in as <b>admin<\/b> \(admin\), by the load balancer \(x-amzn-oidc-identity: admin\)/);
    const reports = await get(`${https}/console/reports`, { cookie: admin.cookie });
    assert.equal(reports.status, 200);
    assert.ok(Array.isArray(JSON.parse(reports.body)));
  });

  it('a customer signed in at the load balancer is still not allowed: 403 from the shop', async () => {
    const alice = await signIn('alice');
    const r = await get(`${https}/console`, { cookie: alice.cookie });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).required_role, 'admin');
  });

  it('claims sent straight to a target without the gateway’s signature are refused: 401', async () => {
    const target = `http://127.0.0.1:${s.system.targets[0]!.port}`;
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'x', signer: 'arn:aws:elasticloadbalancing:local:000000000000:loadbalancer/app/receipt-gateway/0' })).toString('base64url');
    const claims = Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url');
    const r = await request(`${target}/console`, { headers: { 'x-amzn-oidc-data': `${header}.${claims}.AAAA` } });
    assert.equal(r.statusCode, 401);
    await r.body.dump();
  });
});
