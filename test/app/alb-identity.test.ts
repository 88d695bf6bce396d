/**
 * The shop trusts the load balancer's signed-in user (x-amzn-oidc-data) only as AWS advises: the signer is its own
 * load balancer and the ES256 signature verifies with the key published under the token's kid. Then the decision
 * tree runs as for a bearer token: an admin gets the console, a customer 403, anything forged or stale 401.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AlbIdentity } from '../../src/shop/auth/alb-identity.ts';
import { problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/receipt/50dc6c495c0c9188';
const KID = 'b1e2c3d4-0000-4000-8000-000000000001';
const keys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
let keyServer: http.Server;
let fetched = 0;
let s: ShopUnderTest;

before(async () => {
  keyServer = http.createServer((req, res) => {
    fetched++;
    if (req.url === `/${KID}`) res.end(keys.publicKey.export({ type: 'spki', format: 'pem' }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
  const keysUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
  s = await shopUnderTest({}, { albIdentity: new AlbIdentity({ keysUrl, signer: ARN }) });
});
after(async () => {
  await s.close();
  keyServer.close();
});

/** A token as ALB writes one: base64 segments that may keep their padding, signed over exactly those bytes. */
function albToken(claims: Record<string, unknown>, o: { signer?: string; kid?: string; exp?: number; key?: crypto.KeyObject; pad?: boolean } = {}) {
  const enc = (v: object) => {
    const b = Buffer.from(JSON.stringify(v)).toString('base64url');
    return o.pad ? b + '='.repeat((4 - (b.length % 4)) % 4) : b;
  };
  const head = enc({ alg: 'ES256', kid: o.kid ?? KID, signer: o.signer ?? ARN, iss: 'https://idp.example', client: 'receipt', exp: o.exp ?? Math.floor(Date.now() / 1000) + 120 });
  const body = enc(claims);
  const sig = crypto.sign('sha256', Buffer.from(`${head}.${body}`), { key: o.key ?? keys.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${head}.${body}.${sig}`;
}

const console_ = (token?: string, extra: Record<string, string> = {}) =>
  s.app.inject({ url: '/console', headers: { ...(token ? { 'x-amzn-oidc-data': token, 'x-amzn-oidc-identity': 'admin' } : {}), ...extra } });

describe('x-amzn-oidc-data: the load balancer signed the user in', () => {
  it('an admin signed in at the load balancer gets the console page, padded segments and all', async () => {
    const res = await console_(albToken({ sub: 'admin', email: 'admin@example.com' }, { pad: true }));
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /Signed in as <b>admin<\/b> \(admin\), by the load balancer/);
  });

  it('a customer signed in at the load balancer: 403 with required_role — signed in is not allowed', async () => {
    assert.equal(problem(await console_(albToken({ sub: 'alice' })), 403).required_role, 'admin');
  });

  it('forged, from another load balancer, expired, unknown key, unknown user: 401 invalid_token, never a 500', async () => {
    const cases = {
      forged: albToken({ sub: 'admin' }, { key: stranger.privateKey }),
      'another signer': albToken({ sub: 'admin' }, { signer: ARN.replace('receipt', 'other') }),
      expired: albToken({ sub: 'admin' }, { exp: Math.floor(Date.now() / 1000) - 1 }),
      'unknown kid': albToken({ sub: 'admin' }, { kid: 'no-such-key' }),
      'no account': albToken({ sub: 'mallory' }),
      garbage: 'not.a.jwt',
    };
    for (const [why, token] of Object.entries(cases)) {
      const res = await console_(token);
      assert.equal(res.statusCode, 401, why);
      assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/, why);
    }
  });

  it('a bearer token still counts first; without either: 401 with the plain challenge', async () => {
    const res = await s.app.inject({ url: '/console', headers: { ...(await s.bearer('admin')), 'x-amzn-oidc-data': 'not.a.jwt' } });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /by a bearer token/);
    const none = await console_();
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="receipt"');
  });

  it('fetches a key once per kid', async () => {
    const before = fetched;
    await console_(albToken({ sub: 'admin' }));
    await console_(albToken({ sub: 'admin' }));
    assert.equal(fetched, before);
  });
});

describe('a shop that was not told its load balancer', () => {
  it('ignores x-amzn-oidc-data: anyone can send the field to a target they reach directly', async () => {
    const plain = await shopUnderTest();
    try {
      const res = await plain.app.inject({ url: '/console', headers: { 'x-amzn-oidc-data': albToken({ sub: 'admin' }) } });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="receipt"');
    } finally {
      await plain.close();
    }
  });
});
