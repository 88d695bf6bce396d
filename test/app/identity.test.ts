import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { parseBearerChallenge } from '../../src/http/index.ts';
import { problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

let s: ShopUnderTest;
before(async () => (s = await shopUnderTest()));
after(() => s.close());

const token = (username: string, password: string) =>
  s.app.inject({ method: 'POST', url: '/auth/token', payload: { username, password } });

describe('POST /auth/token', () => {
  it('answers a bearer token pair, never cached', async () => {
    const res = await token('alice', 'alice-pass');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 900);
    assert.ok(body.access_token.split('.').length === 3);
    assert.ok(body.refresh_token.length > 20);
  });

  it('wrong password and unknown user look the same: 401 with a challenge, no hint', async () => {
    const a = problem(await token('alice', 'nope'), 401);
    const b = problem(await token('mallory', 'nope'), 401);
    assert.equal(a.detail, b.detail);
    assert.equal((await token('alice', 'nope')).headers['www-authenticate'], 'Bearer realm="receipt"');
  });
});

describe('POST /auth/refresh', () => {
  it('gives a new pair once; the same refresh token a second time is 401', async () => {
    const first = (await token('bob', 'bob-pass')).json();
    const r1 = await s.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: first.refresh_token } });
    assert.equal(r1.statusCode, 200);
    assert.notEqual(r1.json().refresh_token, first.refresh_token);
    const r2 = await s.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: first.refresh_token } });
    problem(r2, 401);
    const me = await s.app.inject({ url: '/orders', headers: { authorization: `Bearer ${r1.json().access_token}` } });
    assert.equal(me.statusCode, 200);
  });

  it('two racing redeemers of one refresh token: exactly one wins', async () => {
    const { refresh_token } = (await token('bob', 'bob-pass')).json();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => s.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token } })),
    );
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 401, 401, 401, 401]);
  });

  it('an unknown refresh token is 401', async () => {
    problem(await s.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: 'x'.repeat(43) } }), 401);
  });
});

describe('protected routes (RFC 6750 §3.1)', () => {
  const get = (authorization?: string) => s.app.inject({ url: '/orders', headers: authorization ? { authorization } : {} });

  it('no Authorization: 401 + Bearer realm, without an error parameter', async () => {
    const res = await get();
    problem(res, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="receipt"');
  });

  it('another scheme (Basic) is treated as no credentials', async () => {
    const res = await get('Basic YWxpY2U6YWxpY2UtcGFzcw==');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="receipt"');
  });

  it('an expired token: invalid_token, "Token expired"', async () => {
    const expired = await s.tokens.signAccess({ id: 1, role: 'customer' }, -10);
    const res = await get(`Bearer ${expired}`);
    problem(res, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="receipt", error="invalid_token", error_description="Token expired"');
  });

  it('bad signature, alg none and malformed tokens: invalid_token', async () => {
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('3')
      .setIssuer('receipt')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-secret-not-the-secret-123'));
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '3', role: 'admin', iss: 'receipt', exp: 9e9 })}.`;
    for (const [name, t, reason] of [
      ['forged', forged, 'Token signature invalid'],
      ['alg none', none, 'Token algorithm not accepted'],
      ['malformed', 'abc.def', 'Token malformed'],
    ] as const) {
      const res = await get(`Bearer ${t}`);
      problem(res, 401);
      const c = parseBearerChallenge(String(res.headers['www-authenticate']));
      assert.equal(c?.error, 'invalid_token', name);
      assert.equal(c?.error_description, reason, name);
    }
  });
});
