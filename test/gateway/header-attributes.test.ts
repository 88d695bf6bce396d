/**
 * The load-balancer attributes that shape what a target's request carries (AWS, "Application Load Balancer
 * attributes", "X-Forwarded headers"), over real sockets: X-Forwarded-For appended (with the client's port when
 * asked), preserved or removed; the Host as sent; invalid field names dropped; and X-Amzn-Tls-Version /
 * -Cipher-Suite on HTTPS.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { request, Agent } from 'undici';
import type { GatewayConfig } from '../../src/gateway/config.ts';
import { loadOrCreateCertificate } from '../../src/gateway/tls.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

let target: HttpTarget;
before(async () => {
  target = await httpTarget('t');
});
after(() => target.close());
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function gateway(attrs: Partial<GatewayConfig>, listeners: GatewayConfig['listeners'] = [{ protocol: 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }] }], tls?: { key: string; cert: string }) {
  const g = await gatewayUnderTest(
    { ...attrs, listeners, targetGroups: [{ name: 'g', healthCheck: { enabled: false }, targets: [{ id: 't', host: '127.0.0.1', port: target.port }] }] },
    tls,
  );
  cleanup.push(() => g.close());
  return g;
}

/** One request as raw bytes; what the target saw, and the client's own port (for xff_client_port). */
async function send(port: number, fields: string[]): Promise<{ headers: Record<string, string | string[] | undefined>; clientPort: number }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const clientPort = socket.localPort!;
  socket.write(`GET /x HTTP/1.1\r\n${fields.join('\r\n')}\r\nConnection: close\r\n\r\n`);
  let text = '';
  socket.on('data', (d) => (text += d));
  await new Promise((r) => socket.once('close', r));
  assert.match(text, /^HTTP\/1\.1 200 /, text);
  return { headers: { ...target.lastHeaders }, clientPort };
}

describe('load-balancer attributes on the request a target gets', () => {
  it('by default (ALB’s): X-Forwarded-For appended, Host rewritten, every field name passed', async () => {
    const g = await gateway({});
    const { headers } = await send(g.port, ['Host: Shop.Example:80', 'X-Forwarded-For: 203.0.113.7', 'X_Odd_Name: 1']);
    assert.equal(headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(headers.host, 'shop.example');
    assert.equal(headers['x_odd_name'], '1');
  });

  it('xff_client_port: the client’s port after its address', async () => {
    const g = await gateway({ xffClientPort: true });
    const { headers, clientPort } = await send(g.port, ['Host: a', 'X-Forwarded-For: 203.0.113.7']);
    assert.equal(headers['x-forwarded-for'], `203.0.113.7, 127.0.0.1:${clientPort}`);
  });

  it('xff_header_processing.mode preserve: the field as the client sent it, and none when it sent none', async () => {
    const g = await gateway({ xffHeaderProcessingMode: 'preserve' });
    assert.equal((await send(g.port, ['Host: a', 'X-Forwarded-For: 203.0.113.7'])).headers['x-forwarded-for'], '203.0.113.7');
    assert.equal((await send(g.port, ['Host: a'])).headers['x-forwarded-for'], undefined);
  });

  it('xff_header_processing.mode remove: no X-Forwarded-For at all', async () => {
    const g = await gateway({ xffHeaderProcessingMode: 'remove' });
    assert.equal((await send(g.port, ['Host: a', 'X-Forwarded-For: 203.0.113.7'])).headers['x-forwarded-for'], undefined);
  });

  it('preserve_host_header: the Host exactly as sent, port and case kept', async () => {
    const g = await gateway({ preserveHostHeader: true });
    assert.equal((await send(g.port, ['Host: Shop.Example:80'])).headers.host, 'Shop.Example:80');
  });

  it('drop_invalid_header_fields: a name with an underscore is dropped, valid ones pass', async () => {
    const g = await gateway({ dropInvalidHeaderFields: true });
    const { headers } = await send(g.port, ['Host: a', 'X_Odd_Name: 1', 'X-Fine: 2']);
    assert.equal(headers['x_odd_name'], undefined);
    assert.equal(headers['x-fine'], '2');
  });

  it('x_amzn_tls_version_and_cipher_suite: the client’s TLS version and cipher on HTTPS requests only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-tls-hdr-'));
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const tls = await loadOrCreateCertificate(dir);
    const g = await gateway(
      { tlsVersionAndCipherSuiteHeaders: true },
      [
        { protocol: 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }] },
        { protocol: 'HTTPS', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }] },
      ],
      tls,
    );
    const agent = new Agent({ connect: { rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' } });
    cleanup.push(() => agent.close());
    const res = await request(`https://127.0.0.1:${g.gateway.listener('https')!.port}/x`, { dispatcher: agent });
    await res.body.dump();
    assert.equal(target.lastHeaders!['x-amzn-tls-version'], 'TLSv1.2');
    assert.equal(target.lastHeaders!['x-amzn-tls-cipher-suite'], 'ECDHE-RSA-AES128-GCM-SHA256');
    const { headers } = await send(g.port, ['Host: a']);
    assert.equal(headers['x-amzn-tls-version'], undefined, 'plain HTTP has no TLS to name');
  });
});

describe('routing.http2.enabled', () => {
  it('false: an HTTPS listener offers only http/1.1 by ALPN, so an HTTP/2 client speaks HTTP/1.1; true (ALB’s default) offers h2 first', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-h2off-'));
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const tlsMaterial = await loadOrCreateCertificate(dir);
    const https = (['HTTP', 'HTTPS'] as const).map((protocol) => ({ protocol, port: 0, defaultActions: [{ type: 'forward' as const, targetGroups: [{ name: 'g' }] }] }));
    const alpn = async (port: number) => {
      const { connect } = await import('node:tls');
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
      await new Promise((r) => socket.once('secureConnect', r));
      const chosen = socket.alpnProtocol;
      socket.destroy();
      return chosen;
    };
    const off = await gateway({ http2Enabled: false }, https, tlsMaterial);
    assert.equal(await alpn(off.gateway.listener('https')!.port), 'http/1.1');
    const on = await gateway({}, https, tlsMaterial);
    assert.equal(await alpn(on.gateway.listener('https')!.port), 'h2');
  });
});

describe('listener attributes on answers (header modification)', () => {
  it('added response headers on a target’s answers and the gateway’s own; the target’s own value kept; Server off', async () => {
    const g = await gatewayUnderTest({
      listeners: [
        {
          protocol: 'HTTP',
          port: 0,
          responseHeaders: { 'strict-transport-security': 'max-age=63072000', 'x-frame-options': 'DENY', 'content-type': 'x' } as never,
          defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }],
        },
      ],
      targetGroups: [{ name: 'g', healthCheck: { enabled: false }, targets: [{ id: 't', host: '127.0.0.1', port: target.port }] }],
    }).catch((e: Error) => e);
    assert.ok(g instanceof Error && /responseHeaders/.test(g.message), 'only the ten headers ALB can add are accepted');

    const gw = await gatewayUnderTest({
      listeners: [
        {
          protocol: 'HTTP',
          port: 0,
          responseHeaders: { 'strict-transport-security': 'max-age=63072000', 'x-frame-options': 'DENY' },
          serverHeader: false,
          rules: [
            { priority: 1, conditions: [{ field: 'path-pattern', values: ['/fixed'] }], actions: [{ type: 'fixed-response', statusCode: '200', messageBody: 'fixed' }] },
            { priority: 2, conditions: [{ field: 'path-pattern', values: ['/nobody'] }], actions: [{ type: 'forward', targetGroups: [{ name: 'empty' }] }] },
          ],
          defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }],
        },
      ],
      targetGroups: [
        { name: 'g', healthCheck: { enabled: false }, targets: [{ id: 't', host: '127.0.0.1', port: target.port }] },
        { name: 'empty' },
      ],
    });
    cleanup.push(() => gw.close());
    for (const path of ['/from-target', '/fixed', '/nobody']) {
      const res = await request(gw.url + path);
      await res.body.dump();
      assert.equal(res.headers['strict-transport-security'], 'max-age=63072000', path);
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
      if (path !== '/from-target') assert.equal(res.headers.server, undefined, `${path}: no Server on the gateway's own answer`);
    }
    assert.equal((await request(gw.url + '/nobody')).statusCode, 503);
  });
});
