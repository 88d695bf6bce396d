/**
 * What the gateway answers when a sign-in provider misbehaves at the callback — the cases a certified provider will
 * not play, so a provider of the test's own does: a token endpoint that never answers (500 AuthTokenEpRequestTimeout,
 * with the endpoint timeout shortened from ALB's 5 s for the test), one that answers an error or no ID token (401
 * AuthInvalidTokenResponse), an ID token for another sign-in (401 AuthInvalidIdToken), a user-info endpoint that
 * never answers (500 AuthUserinfoEpRequestTimeout) or answers no `sub` (401 AuthInvalidUserinfoResponse). Over real
 * sockets, each with the access log's error_reason — and ALB's ELBAuth* CloudWatch counts of them.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { GatewayMetrics } from '../../src/control/metrics.ts';
import { certificateFor } from '../support/certificates.ts';
import { gatewayUnderTest } from '../support/gateway.ts';

type TokenMode = 'hang' | 'error' | 'no-id-token' | 'other-nonce' | 'ok';
type InfoMode = 'hang' | 'no-sub' | 'other-sub' | 'ok';
const idp = { token: 'ok' as TokenMode, info: 'ok' as InfoMode, nonce: '', issuer: '' };
let server: http.Server;
let gw: Awaited<ReturnType<typeof gatewayUnderTest>>;
let base: string;
const metricsRef: { m?: GatewayMetrics } = {};
const insecure = new Agent({ connect: { rejectUnauthorized: false } });
const key = new TextEncoder().encode('a key the test signs its ID tokens with, 32+ bytes');

before(async () => {
  server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/token') {
      if (idp.token === 'hang') return; // holds the request until the gateway gives up
      if (idp.token === 'error') return json(400, { error: 'invalid_client' });
      if (idp.token === 'no-id-token') return json(200, { access_token: 'at', token_type: 'Bearer' });
      const nonce = idp.token === 'other-nonce' ? 'another-sign-in' : idp.nonce;
      void new SignJWT({ nonce })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(idp.issuer)
        .setAudience('c1')
        .setSubject('ana')
        .setExpirationTime('5m')
        .sign(key)
        .then((id_token) => json(200, { access_token: 'at', token_type: 'Bearer', id_token }));
      return;
    }
    if (req.url === '/userinfo') {
      if (idp.info === 'hang') return;
      return json(200, idp.info === 'no-sub' ? { name: 'Ana' } : { sub: idp.info === 'other-sub' ? 'mallory' : 'ana', name: 'Ana' });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  idp.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gw = await gatewayUnderTest(
    {
      listeners: [
        { protocol: 'HTTP', port: 0, defaultActions: [{ type: 'fixed-response', statusCode: '404' }] },
        {
          protocol: 'HTTPS',
          port: 0,
          defaultActions: [
            {
              type: 'authenticate-oidc',
              issuer: idp.issuer,
              authorizationEndpoint: `${idp.issuer}/authorize`,
              tokenEndpoint: `${idp.issuer}/token`,
              userInfoEndpoint: `${idp.issuer}/userinfo`,
              clientId: 'c1',
              clientSecret: 's1',
            },
            { type: 'fixed-response', statusCode: '200', messageBody: 'signed in' },
          ],
        },
      ],
      targetGroups: [{ name: 'none' }],
    },
    await certificateFor(['app.test']),
    { auth: { endpointTimeoutMs: 300 }, onRecord: (r) => metricsRef.m?.record(r) },
  );
  metricsRef.m = new GatewayMetrics(gw.gateway);
  base = `https://127.0.0.1:${gw.gateway.listener('https')!.port}`;
});
after(async () => {
  await gw.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

let n = 0;
/** A sign-in up to the callback, with the provider in the given modes: the callback's status and error_reason. */
async function callback(token: TokenMode, info: InfoMode = 'ok'): Promise<{ status: number; reason: string }> {
  Object.assign(idp, { token, info });
  const first = await request(`${base}/page`, { dispatcher: insecure, headers: { host: 'app.test' } });
  await first.body.text();
  const to = new URL(String(first.headers.location));
  idp.nonce = to.searchParams.get('nonce')!;
  const cookie = ([] as string[]).concat(first.headers['set-cookie'] ?? []).find((c) => c.startsWith('AWSALBAuthNonce='))!.split(';')[0]!;
  const code = `code-${++n}`;
  const back = await request(`${base}/oauth2/idpresponse?state=${encodeURIComponent(to.searchParams.get('state')!)}&code=${code}`, { dispatcher: insecure, headers: { host: 'app.test', cookie } });
  const body = await back.body.text();
  assert.ok(!/\bat .+\.ts:\d+/.test(body), 'no stack trace in the answer');
  return { status: back.statusCode, reason: (await gw.logFor(`code=${code}`)).errorReason };
}

describe('a misbehaving provider at the callback', () => {
  it('the well-behaved case signs in (the stub is a fair provider)', async () => {
    const r = await callback('ok');
    assert.deepEqual(r, { status: 302, reason: '-' });
  });

  it('a token endpoint that never answers: 500 AuthTokenEpRequestTimeout', async () => {
    assert.deepEqual(await callback('hang'), { status: 500, reason: 'AuthTokenEpRequestTimeout' });
  });

  it('an error from the token endpoint, or no ID token: 401 AuthInvalidTokenResponse', async () => {
    assert.deepEqual(await callback('error'), { status: 401, reason: 'AuthInvalidTokenResponse' });
    assert.deepEqual(await callback('no-id-token'), { status: 401, reason: 'AuthInvalidTokenResponse' });
  });

  it('an ID token made for another sign-in (its nonce): 401 AuthInvalidIdToken', async () => {
    assert.deepEqual(await callback('other-nonce'), { status: 401, reason: 'AuthInvalidIdToken' });
  });

  it('a user-info endpoint that never answers: 500 AuthUserinfoEpRequestTimeout; one without sub: 401 AuthInvalidUserinfoResponse', async () => {
    assert.deepEqual(await callback('ok', 'hang'), { status: 500, reason: 'AuthUserinfoEpRequestTimeout' });
    assert.deepEqual(await callback('ok', 'no-sub'), { status: 401, reason: 'AuthInvalidUserinfoResponse' });
  });

  it('user info about someone else than the ID token names (OIDC Core §5.3.2: the subs MUST match): 401 AuthInvalidUserinfoResponse', async () => {
    assert.deepEqual(await callback('ok', 'other-sub'), { status: 401, reason: 'AuthInvalidUserinfoResponse' });
  });

  it('the provider sending the user back with an error: 561; and ALB’s ELBAuth* counts of all of the above', async () => {
    const r = await request(`${base}/oauth2/idpresponse?error=access_denied&state=x`, { dispatcher: insecure, headers: { host: 'app.test' } });
    await r.body.text();
    assert.equal(r.statusCode, 561);
    const text = await metricsRef.m!.registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    assert.equal(value('receipt_alb_elb_auth_success_total'), 1, 'the one sign-in that completed');
    assert.equal(value('receipt_alb_elb_auth_error_total'), 2, 'the two silences (500)');
    assert.equal(value('receipt_alb_elb_auth_failure_total'), 1, 'the provider’s error (561)');
    assert.equal(value('receipt_alb_elb_auth_user_claims_size_exceeded_total'), 0);
  });
});
