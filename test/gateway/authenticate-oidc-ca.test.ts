/**
 * A sign-in provider on HTTPS with a private CA, as `receipt gateway` runs it: its token endpoint is trusted the way
 * Node trusts extra CAs (`NODE_EXTRA_CA_CERTS`, honoured by the fetch the gateway calls it with). With the CA the
 * real provider is reached and refuses a made-up code (401 AuthInvalidGrantError); without it the endpoint cannot
 * be reached — a 500 the gateway owns, never a sign-in.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Agent, request } from 'undici';
import { startLocalProvider, type LocalProvider } from '../../src/idp/local-provider.ts';
import { certificateFor } from '../support/certificates.ts';
import { runGatewayCommand } from '../support/gateway-command.ts';

let idp: LocalProvider;
let dir: string;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-oidc-ca-'));
  const tls = await certificateFor(['localhost']);
  fs.writeFileSync(path.join(dir, 'ca.pem'), tls.cert);
  idp = await startLocalProvider({
    tls,
    issuerHost: 'localhost',
    clients: [{ clientId: 'c1', clientSecret: 's1', redirectUris: ['https://app.test/oauth2/idpresponse'] }],
    users: [{ username: 'ana', password: 'secret' }],
  });
  const config = {
    listeners: [
      {
        protocol: 'HTTPS',
        port: 0,
        defaultActions: [
          {
            type: 'authenticate-oidc',
            issuer: idp.issuer,
            authorizationEndpoint: idp.authorizationEndpoint,
            tokenEndpoint: idp.tokenEndpoint,
            userInfoEndpoint: idp.userInfoEndpoint,
            clientId: 'c1',
            clientSecret: 's1',
          },
          { type: 'fixed-response', statusCode: '200', messageBody: 'signed in' },
        ],
      },
    ],
    targetGroups: [{ name: 'none' }],
  };
  fs.writeFileSync(path.join(dir, 'gw.json'), JSON.stringify(config));
});
after(async () => {
  await idp.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function callbackStatus(extraCa: boolean): Promise<number> {
  const gw = await runGatewayCommand(['--config', path.join(dir, 'gw.json'), '--control-port', '0', '--data-dir', path.join(dir, String(extraCa))], /listeners\s+https:\/\/\S+:\d+/, {
    NODE_EXTRA_CA_CERTS: extraCa ? path.join(dir, 'ca.pem') : undefined,
  });
  try {
    const url = /listeners\s+(https:\/\/\S+:\d+)/.exec(gw.out)?.[1];
    assert.ok(url, gw.out + gw.err);
    const first = await request(`${url}/admin`, { dispatcher: insecure, headers: { host: 'app.test' } });
    await first.body.text();
    assert.equal(first.statusCode, 302);
    assert.ok(String(first.headers.location).startsWith(idp.authorizationEndpoint));
    const state = new URL(String(first.headers.location)).searchParams.get('state')!;
    const nonce = ([] as string[]).concat(first.headers['set-cookie'] ?? []).find((c) => c.startsWith('AWSALBAuthNonce='))!.split(';')[0]!;
    const back = await request(`${url}/oauth2/idpresponse?code=made-up&state=${encodeURIComponent(state)}`, { dispatcher: insecure, headers: { host: 'app.test', cookie: nonce } });
    await back.body.text();
    return back.statusCode;
  } finally {
    gw.kill();
  }
}

it('an HTTPS provider with a private CA is trusted through NODE_EXTRA_CA_CERTS, and only then', async () => {
  assert.equal(await callbackStatus(true), 401, 'reached: the provider refused the made-up code (invalid_grant)');
  assert.equal(await callbackStatus(false), 500, 'not reached: AuthTokenEpRequestConnectionError');
});
