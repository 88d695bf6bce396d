/**
 * A JWKS endpoint on HTTPS with a private CA, as `receipt gateway` runs it: trusted the way Node trusts extra CAs
 * (`NODE_EXTRA_CA_CERTS`), and without it the key set cannot be had — a 500 the gateway owns, never a pass.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { request } from 'undici';
import { certificateFor } from '../support/certificates.ts';
import { runGatewayCommand } from '../support/gateway-command.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

let target: HttpTarget;
let jwks: https.Server;
let dir: string;
let token: string;
before(async () => {
  target = await httpTarget('api');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-jwks-ca-'));
  const tls = await certificateFor(['localhost']);
  fs.writeFileSync(path.join(dir, 'ca.pem'), tls.cert);
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
  jwks = https.createServer(tls, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, r)); // both address families: `localhost` may resolve to either
  const issuer = 'https://issuer.test';
  token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setIssuedAt().setExpirationTime('5m').sign(privateKey);
  const config = {
    listeners: [
      {
        protocol: 'HTTP',
        port: 0,
        defaultActions: [
          { type: 'jwt-validation', issuer, jwksEndpoint: `https://localhost:${(jwks.address() as AddressInfo).port}/jwks.json` },
          { type: 'forward', targetGroups: [{ name: 'api' }] },
        ],
      },
    ],
    targetGroups: [{ name: 'api', healthCheck: { enabled: false }, targets: [{ id: 'api', host: '127.0.0.1', port: target.port }] }],
  };
  fs.writeFileSync(path.join(dir, 'gw.json'), JSON.stringify(config));
});
after(async () => {
  await target.close();
  await new Promise((r) => jwks.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function statusThroughGateway(extraCa: boolean): Promise<number> {
  const gw = await runGatewayCommand(['--config', path.join(dir, 'gw.json'), '--control-port', '0', '--data-dir', path.join(dir, String(extraCa))], /listeners\s+http:\/\/\S+:\d+/, {
    NODE_EXTRA_CA_CERTS: extraCa ? path.join(dir, 'ca.pem') : undefined,
  });
  try {
    const url = /listeners\s+(http:\/\/\S+:\d+)/.exec(gw.out)?.[1];
    assert.ok(url, gw.out + gw.err);
    const r = await request(`${url}/orders`, { headers: { authorization: `Bearer ${token}` } });
    await r.body.text();
    return r.statusCode;
  } finally {
    gw.kill();
  }
}

it('an HTTPS JWKS endpoint with a private CA is trusted through NODE_EXTRA_CA_CERTS, and only then', async () => {
  assert.equal(await statusThroughGateway(true), 200);
  assert.equal(target.lastHeaders?.authorization, `Bearer ${token}`);
  assert.equal(await statusThroughGateway(false), 500);
});
