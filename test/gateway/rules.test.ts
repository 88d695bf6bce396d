/**
 * Listener rules (AWS, "Listener rules for your Application Load Balancer"): conditions, priorities, the three actions, the redirect chain across the HTTP
 * and HTTPS listeners, and a configuration refused with a message naming its bad field.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { defaultGatewayConfig, validateGatewayConfig, type GatewayConfig } from '../../src/gateway/config.ts';
import { redirectUrl, wildcard } from '../../src/gateway/rules.ts';
import { loadOrCreateCertificate } from '../../src/gateway/tls.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';
import { eventually } from '../support/system.ts';

describe('patterns and placeholders', () => {
  it('host wildcards are case-insensitive; path patterns are case-sensitive', () => {
    assert.ok(wildcard('*.example.com', true).test('Test.EXAMPLE.com'));
    assert.ok(!wildcard('*.example.com', true).test('example.com'));
    assert.ok(wildcard('/img/?.png', false).test('/img/a.png'));
    assert.ok(!wildcard('/img/?.png', false).test('/IMG/a.png'));
  });
  it('redirect placeholders keep what is not set; #{path} drops its leading slash', () => {
    const orig = { protocol: 'http' as const, host: 'shop.localhost', port: 8080, path: '/products', query: 'a=1' };
    assert.equal(redirectUrl({ protocol: 'https', port: '8443' }, orig), 'https://shop.localhost:8443/products?a=1');
    assert.equal(redirectUrl({ host: 'www.#{host}', path: '/v2/#{path}' }, orig), 'http://www.shop.localhost:8080/v2/products?a=1');
    assert.equal(redirectUrl({ protocol: 'https', port: '443', query: '' }, orig), 'https://shop.localhost/products');
  });
});

describe('configuration', () => {
  it('the default configuration is valid', () => {
    validateGatewayConfig(defaultGatewayConfig({ http: 8080, https: 8443 }, 60000));
  });
  it('a bad configuration is refused with a message naming the field', () => {
    const good = defaultGatewayConfig({ http: 8080, https: 8443 }, 60000);
    const bad = (mutate: (c: GatewayConfig) => void) => {
      const c = structuredClone(good);
      mutate(c);
      return () => validateGatewayConfig(c, 'gw.json');
    };
    assert.throws(bad((c) => (c.listeners[0]!.rules![0]!.priority = 0)), /gw\.json: listeners\[0\]\.rules\[0\]\.priority: must be >= 1/);
    assert.throws(
      bad((c) => (c.listeners[0]!.defaultActions = [{ type: 'fixed-response', statusCode: '302' }])),
      /listeners\[0\]\.defaultActions\[0\]\.statusCode/,
    );
    assert.throws(bad((c) => (c.listeners[0]!.defaultActions = [{ type: 'forward', targetGroups: [{ name: 'nope' }] }])), /no target group "nope"/);
    assert.throws(
      bad((c) => c.listeners[0]!.rules!.push({ ...c.listeners[0]!.rules![0]! })),
      /listeners\[0\]\.rules\[1\]\.priority: 10 is in use \(PriorityInUse\)/,
    );
    assert.throws(bad((c) => ((c.targetGroups[0] as Record<string, unknown>).colour = 'blue')), /targetGroups\[0\].*colour/);
  });
});

describe('rules on a live listener', () => {
  let gw: Awaited<ReturnType<typeof gatewayUnderTest>>;
  let t: HttpTarget;
  let dataDir: string;
  let insecure: Agent;
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-gw-'));
    t = await httpTarget('shop');
    // Ports are only known after listening; the redirect to HTTPS needs one, so listen on fixed free ones.
    const { freePort } = await import('../../src/db/embedded.ts');
    const [http, https] = [await freePort(), await freePort()];
    const config = defaultGatewayConfig({ http, https }, 2000);
    config.listeners[0]!.rules!.push(
      { priority: 20, conditions: [{ field: 'path-pattern', values: ['/status'] }, { field: 'http-request-method', values: ['GET'] }], actions: [{ type: 'fixed-response', statusCode: '200', contentType: 'application/json', messageBody: '{"ok":true}' }] },
      { priority: 30, conditions: [{ field: 'http-header', httpHeaderName: 'X-Canary', values: ['yes'] }], actions: [{ type: 'fixed-response', statusCode: '200', messageBody: 'canary' }] },
      { priority: 40, conditions: [{ field: 'query-string', values: [{ key: 'debug', value: 'tru?' }] }], actions: [{ type: 'fixed-response', statusCode: '503', messageBody: 'debug off' }] },
      { priority: 50, conditions: [{ field: 'source-ip', values: ['10.0.0.0/8'] }], actions: [{ type: 'fixed-response', statusCode: '403', messageBody: 'never from loopback' }] },
    );
    config.targetGroups[0]!.healthCheck = { ...config.targetGroups[0]!.healthCheck, intervalMs: 100 };
    gw = await gatewayUnderTest(config, await loadOrCreateCertificate(dataDir));
    const target = gw.gateway.group('shop').register('t0', '127.0.0.1', t.port);
    await eventually(async () => target.state === 'healthy', 2000, 'healthy');
    insecure = new Agent({ connect: { rejectUnauthorized: false } });
  });
  after(async () => {
    await gw.close();
    await t.close();
    await insecure.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("the redirect chain of docs/status-codes.md: http://shop.localhost → https://shop.localhost → https://www.shop.localhost → 200", async () => {
    const [http, https] = gw.gateway.ports;
    const hop1 = await request(`http://127.0.0.1:${http}/products?x=1`, { headers: { host: 'shop.localhost' } });
    assert.equal(hop1.statusCode, 301);
    assert.equal(hop1.headers.location, `https://shop.localhost:${https}/products?x=1`);
    assert.equal((await gw.logFor('/products?x=1')).redirectUrl, `https://shop.localhost:${https}/products?x=1`);
    const hop2 = await request(`https://127.0.0.1:${https}/products?x=1`, { headers: { host: `shop.localhost:${https}` }, dispatcher: insecure });
    assert.equal(hop2.statusCode, 301);
    assert.equal(hop2.headers.location, `https://www.shop.localhost:${https}/products?x=1`);
    const final = await request(`https://127.0.0.1:${https}/products?x=1`, { headers: { host: `www.shop.localhost:${https}` }, dispatcher: insecure });
    assert.equal(final.statusCode, 200);
    assert.equal(t.lastHeaders!['x-forwarded-proto'], 'https');
    assert.equal(t.lastHeaders!['x-forwarded-port'], String(https));
    await Promise.all([hop1.body.dump(), hop2.body.dump(), final.body.dump()]);
    const log = await gw.logFor('/products?x=1');
    assert.equal(log.type, 'https');
    assert.equal(log.matchedRulePriority, '0', 'the default rule');
  });

  it('fixed responses by path + method, header, query; a source-ip rule that does not match; the default forwards', async () => {
    const fixed = await request(`${gw.url}/status`);
    assert.equal(fixed.statusCode, 200);
    assert.equal(await fixed.body.text(), '{"ok":true}');
    assert.equal((await gw.logFor('/status')).actionsExecuted, 'fixed-response');
    assert.equal((await gw.logFor('/status')).matchedRulePriority, '20');
    const post = await request(`${gw.url}/status`, { method: 'POST', body: '' });
    assert.equal(post.statusCode, 200);
    assert.equal(JSON.parse(await post.body.text()).target, 'shop', 'POST /status is not the fixed rule: forwarded');
    const canary = await request(`${gw.url}/any`, { headers: { 'x-canary': 'YES' } });
    assert.equal(await canary.body.text(), 'canary');
    const q = await request(`${gw.url}/any?debug=true`);
    assert.equal(q.statusCode, 503);
    await q.body.dump();
    const plain = await request(`${gw.url}/any`);
    assert.equal(plain.statusCode, 200, 'the 10.0.0.0/8 rule does not match loopback');
    await plain.body.dump();
  });
});
