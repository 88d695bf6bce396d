/**
 * Rule transforms and regex conditions (AWS, "Transforms for listener rules"; the condition types' RegexValues), over
 * real sockets: the Host and URL rewritten before forwarding, the rule chosen on what the client sent, the access
 * log's transformed_host / transformed_uri and conn_trace_id, a transform that makes no valid request answered 500 by
 * the gateway; and the regex features ALB does not support refused when the configuration is read.
 */
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { validateGatewayConfig, type GatewayConfig } from '../../src/gateway/config.ts';
import { applyTransforms, compileRules } from '../../src/gateway/rules.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

let target: HttpTarget;
before(async () => {
  target = await httpTarget('t');
});
after(() => target.close());

const config = (rules: NonNullable<GatewayConfig['listeners'][number]['rules']>): GatewayConfig => ({
  listeners: [{ protocol: 'HTTP', port: 0, defaultActions: [{ type: 'fixed-response', statusCode: '404', messageBody: 'no rule' }], rules }],
  targetGroups: [{ name: 'g', healthCheck: { enabled: false }, targets: [{ id: 't', host: '127.0.0.1', port: 1 }] }],
});
const forward = [{ type: 'forward' as const, targetGroups: [{ name: 'g' }] }];

describe('regex conditions', () => {
  it('regexValues match alongside wildcards: host case-insensitive, path case-sensitive, headers', () => {
    const [rule] = compileRules({
      protocol: 'HTTP',
      port: 0,
      defaultActions: forward,
      rules: [{ priority: 1, conditions: [{ field: 'path-pattern', regexValues: ['^/items/[0-9]+$'] }, { field: 'host-header', regexValues: ['^api\\.(eu|us)\\.example$'] }], actions: forward }],
    });
    const ctx = (host: string, path: string) => ({ host, path, query: '', sourceIp: '127.0.0.1' });
    assert.equal(rule!.test({ headers: {} }, ctx('API.EU.example', '/items/42')), true);
    assert.equal(rule!.test({ headers: {} }, ctx('api.eu.example', '/Items/42')), false);
    assert.equal(rule!.test({ headers: {} }, ctx('api.asia.example', '/items/42')), false);
  });

  it('a regex with a feature ALB does not support is refused when the configuration is read, naming where', () => {
    for (const [rx, feature] of [['^(?=a)', '(?='], ['(a)\\1', '\\1'], ['(?<!x)y', '(?<!'], ['\\p{L}+', '\\p{']] as const) {
      const err = (() => {
        try {
          validateGatewayConfig(config([{ priority: 1, conditions: [{ field: 'path-pattern', regexValues: [rx] }], actions: forward }]));
        } catch (e) {
          return (e as Error).message;
        }
        return 'accepted';
      })();
      assert.ok(err.includes(`rules[0].conditions[0].regexValues[0]: ${feature}`) && err.endsWith('is a regex feature ALB does not support'), err);
    }
    assert.throws(() => validateGatewayConfig(config([{ priority: 1, conditions: [{ field: 'path-pattern' }], actions: forward }])), /needs values or regexValues/);
  });
});

describe('transforms', () => {
  it('applyTransforms: the first match replaced with its captures; no match, no change; an invalid result fails', () => {
    const t = { host: { regex: /^(.+)\.example\.com$/, replace: '$1.internal' }, url: { regex: /^\/api\/(.*)$/, replace: '/$1' } };
    assert.deepEqual(applyTransforms(t, 'shop.example.com', '/api/orders?x=1'), { host: 'shop.internal', url: '/orders?x=1' });
    assert.deepEqual(applyTransforms(t, 'other.org', '/health'), {});
    assert.equal(applyTransforms({ url: { regex: /^\/(.*)$/, replace: '$1' } }, 'h', '/x').failed, true);
  });

  it('over real sockets: the target gets the rewritten Host and URL; the log says what was sent; a connection keeps one conn_trace_id', async () => {
    const cfg = config([
      {
        priority: 1,
        conditions: [{ field: 'path-pattern', values: ['/api/*'] }],
        actions: forward,
        transforms: [
          { type: 'host-header-rewrite', regex: '^(.+)\\.example\\.com$', replace: '$1.internal' },
          { type: 'url-rewrite', regex: '^/api/(.*)$', replace: '/$1' },
        ],
      },
      { priority: 2, conditions: [{ field: 'path-pattern', values: ['/broken/*'] }], actions: forward, transforms: [{ type: 'url-rewrite', regex: '^/(.*)$', replace: '$1' }] },
    ]);
    cfg.targetGroups[0]!.targets![0]!.port = target.port;
    const g = await gatewayUnderTest(cfg);
    try {
      // Two requests on one connection, raw, so the connection is known to be the same.
      const socket = net.connect(g.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.write('GET /api/orders?x=1 HTTP/1.1\r\nHost: shop.example.com\r\n\r\nGET /api/cart HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n');
      await new Promise((r) => socket.once('close', r));
      assert.equal(text.match(/HTTP\/1\.1 200/g)?.length, 2, text);
      assert.match(text, /"path":"\/orders\?x=1"/);
      assert.equal(target.lastHeaders!.host, 'shop.internal');
      const first = await g.logFor('/api/orders?x=1');
      assert.equal(first.transformedHost, 'shop.internal');
      assert.equal(first.transformedUri, '/orders?x=1');
      assert.equal(first.matchedRulePriority, '1', 'the rule was chosen on what the client sent');
      assert.match(first.connTraceId, /^TID_[0-9a-f]{16}$/);
      assert.equal((await g.logFor('/api/cart')).connTraceId, first.connTraceId);
      await (await request(g.url + '/api/other', { headers: { host: 'shop.example.com' } })).body.dump();
      assert.notEqual((await g.logFor('/api/other')).connTraceId, first.connTraceId, 'another connection, another id');
      // A rule without transforms logs '-' in both fields.
      const broken = await request(g.url + '/broken/x');
      await broken.body.dump();
      assert.equal(broken.statusCode, 500);
      assert.equal((await g.logFor('/broken/x')).errorReason, 'RequestTransformFailed');
    } finally {
      await g.close();
    }
  });
});

describe('conn_trace_id over HTTP/2', () => {
  it('every stream of one HTTP/2 connection carries the connection’s id; another connection another', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const http2 = await import('node:http2');
    const { loadOrCreateCertificate } = await import('../../src/gateway/tls.ts');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-h2-tid-'));
    const forwardAll = [{ type: 'forward' as const, targetGroups: [{ name: 'g' }] }];
    const g = await gatewayUnderTest(
      {
        listeners: (['HTTP', 'HTTPS'] as const).map((protocol) => ({ protocol, port: 0, defaultActions: forwardAll })),
        targetGroups: [{ name: 'g', healthCheck: { enabled: false }, targets: [{ id: 't', host: '127.0.0.1', port: target.port }] }],
      },
      await loadOrCreateCertificate(dir),
    );
    const get = (session: ClientHttp2Session, p: string) =>
      new Promise<void>((resolve, reject) => {
        const s = session.request({ ':path': p });
        s.on('response', () => s.resume());
        s.on('end', () => resolve());
        s.on('error', reject);
        s.end();
      });
    try {
      const url = `https://127.0.0.1:${g.gateway.listener('https')!.port}`;
      const one = http2.connect(url, { rejectUnauthorized: false });
      await get(one, '/h2-a');
      await get(one, '/h2-b');
      one.close();
      const two = http2.connect(url, { rejectUnauthorized: false });
      await get(two, '/h2-c');
      two.close();
      const [a, b, c] = [await g.logFor('/h2-a'), await g.logFor('/h2-b'), await g.logFor('/h2-c')];
      assert.equal(a.type, 'h2');
      assert.equal(b.connTraceId, a.connTraceId);
      assert.notEqual(c.connTraceId, a.connTraceId);
    } finally {
      await g.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
