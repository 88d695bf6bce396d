/**
 * The gateway's failure mapping, one case per cause AWS documents (AWS, "Troubleshoot your Application Load Balancers": HTTP 502, 503, 504), each against a target that
 * misbehaves exactly so on a real socket. Asserts the status, the body, and the access-log fields.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { GatewayConfig } from '../../src/gateway/config.ts';
import { albHtml } from '../../src/gateway/error-page.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { ok, rawTarget, refusedPort, unacceptingTarget, type RawTarget } from '../support/misbehaving.ts';

/**
 * ALB's error page as observed (nginx's, without the signature line, CRLF), written out here rather than taken from
 * the code under test: "503 Service Temporarily Unavailable" is 162 bytes.
 */
const ALB_PAGE_TITLE: Record<number, string> = { 500: '500 Internal Server Error', 502: '502 Bad Gateway', 503: '503 Service Temporarily Unavailable', 504: '504 Gateway Time-out' };
const albPage = (status: number) =>
  `<html>\r\n<head><title>${ALB_PAGE_TITLE[status]}</title></head>\r\n<body>\r\n<center><h1>${ALB_PAGE_TITLE[status]}</h1></center>\r\n</body>\r\n</html>\r\n`;

const IDLE_MS = 400;
const CONNECT_MS = 300;

interface Case {
  name: string;
  target: () => Promise<{ port: number; close(): Promise<void> }>;
  status: number;
  targetStatus: string;
  reason: string;
}

const cases: Case[] = [
  { name: 'passes-200', target: () => rawTarget((s) => s.write(ok(200, 'fine'))), status: 200, targetStatus: '200', reason: '-' },
  { name: 'passes-500', target: () => rawTarget((s) => s.write(ok(500, 'oops'))), status: 500, targetStatus: '500', reason: '-' },
  { name: 'refused', target: async () => ({ port: await refusedPort(), close: async () => {} }), status: 502, targetStatus: '-', reason: 'TargetConnectionRefused' },
  { name: 'reset', target: () => rawTarget((s) => s.resetAndDestroy()), status: 502, targetStatus: '-', reason: 'TargetClosedConnection' },
  { name: 'fin-no-answer', target: () => rawTarget((s) => s.end()), status: 502, targetStatus: '-', reason: 'TargetClosedConnection' },
  {
    name: 'closed-mid-body',
    target: () => rawTarget((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part')),
    status: 502,
    targetStatus: '-',
    reason: 'TargetClosedConnection',
  },
  { name: 'malformed', target: () => rawTarget((s) => s.write('HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n')), status: 502, targetStatus: '-', reason: 'TargetMalformedResponse' },
  { name: 'not-http', target: () => rawTarget((s) => s.write('SSH-2.0-OpenSSH_9.2\r\n\r\n')), status: 502, targetStatus: '-', reason: 'TargetMalformedResponse' },
  {
    name: 'headers-over-32k',
    target: () => rawTarget((s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\nContent-Length: 0\r\n\r\n`)),
    status: 502,
    targetStatus: '-',
    reason: 'TargetResponseHeadersTooLarge',
  },
  { name: 'silent', target: () => rawTarget(() => {}), status: 504, targetStatus: '-', reason: 'TargetResponseTimeout' },
  {
    name: 'short-body',
    target: () => rawTarget((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part')),
    status: 504,
    targetStatus: '-',
    reason: 'TargetResponseIncomplete',
  },
  { name: 'connect-timeout', target: unacceptingTarget, status: 504, targetStatus: '-', reason: 'TargetConnectTimeout' },
];

let gw: Awaited<ReturnType<typeof gatewayUnderTest>>;
const targets: Array<{ close(): Promise<void> }> = [];

before(async () => {
  const config: GatewayConfig = {
    idleTimeoutMs: IDLE_MS,
    connectTimeoutMs: CONNECT_MS,
    listeners: [
      {
        protocol: 'HTTP',
        port: 0,
        rules: [
          ...cases.map((c, i) => ({
            priority: i + 1,
            conditions: [{ field: 'path-pattern' as const, values: [`/${c.name}`] }],
            actions: [{ type: 'forward' as const, targetGroups: [{ name: c.name }] }],
          })),
          { priority: 100, conditions: [{ field: 'path-pattern' as const, values: ['/empty'] }], actions: [{ type: 'forward' as const, targetGroups: [{ name: 'empty' }] }] },
        ],
        defaultActions: [{ type: 'fixed-response', statusCode: '404', contentType: 'text/plain', messageBody: 'no rule' }],
      },
    ],
    targetGroups: [
      // Health checks far apart: the one at registration is all; a lone failing target is still routed (fail-open).
      ...cases.map((c) => ({ name: c.name, healthCheck: { intervalMs: 300_000, timeoutMs: 200 } })),
      { name: 'empty' },
    ],
  };
  gw = await gatewayUnderTest(config);
  for (const c of cases) {
    const t = await c.target();
    targets.push(t);
    gw.gateway.group(c.name).register(c.name, '127.0.0.1', t.port);
  }
});
after(async () => {
  await gw.close();
  for (const t of targets) await t.close();
});

describe('the gateway answers each documented failure as ALB does', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.status}${c.reason === '-' ? ' from the target, unchanged' : ` (${c.reason})`}`, async () => {
      const res = await request(`${gw.url}/${c.name}`, { headers: { accept: 'text/html' } });
      const body = await res.body.text();
      assert.equal(res.statusCode, c.status);
      if (c.reason !== '-') {
        assert.equal(res.headers.server, 'awselb/2.0');
        assert.equal(body, albPage(c.status));
      }
      const log = await gw.logFor(`/${c.name}`);
      assert.equal(log.elbStatusCode, String(c.status));
      assert.equal(log.targetStatusCode, c.targetStatus);
      assert.equal(log.errorReason, c.reason);
      assert.equal(log.actionsExecuted, 'forward');
    });
  }

  it('no registered target: 503, the observed ALB page byte for byte (162 bytes)', async () => {
    const res = await request(`${gw.url}/empty`);
    const body = await res.body.text();
    assert.equal(res.statusCode, 503);
    assert.equal(Buffer.byteLength(body), 162);
    assert.match(body, /503 Service Temporarily Unavailable/);
    const log = await gw.logFor('/empty');
    assert.equal(log.targetStatusCode, '-');
    assert.equal(log.target, '-');
    assert.equal(log.errorReason, 'NoRegisteredTargets');
  });

  it('by default ALB’s bytes exactly: its HTML page whatever the Accept, and no X-Request-Id (ALB sends none)', async () => {
    const res = await request(`${gw.url}/refused`, { headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 502);
    assert.equal(res.headers['content-type'], 'text/html');
    assert.equal(res.headers['x-request-id'], undefined);
    assert.equal(res.headers.server, 'awselb/2.0');
    assert.equal(await res.body.text(), albHtml(502));
  });

  it('with Receipt’s extras (as receipt start runs it): Accept preferring JSON gets the same failure as application/problem+json', async () => {
    const extras = await gatewayUnderTest(
      { listeners: [{ protocol: 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }] }], targetGroups: [{ name: 'g', healthCheck: { enabled: false }, targets: [{ id: 'r', host: '127.0.0.1', port: await refusedPort() }] }] },
      undefined,
      { receiptExtras: true },
    );
    try {
      const res = await request(`${extras.url}/refused`, { headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 502);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const p = (await res.body.json()) as Record<string, unknown>;
      assert.equal(p.status, 502);
      assert.equal(p.reason, 'TargetConnectionRefused');
      assert.equal(p.request_id, res.headers['x-request-id']);
    } finally {
      await extras.close();
    }
  });
});

describe('requests the gateway refuses itself', () => {
  const raw = (text: string) =>
    new Promise<string>((resolve) => {
      const s = net.connect(gw.port, '127.0.0.1', () => s.write(text));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
      setTimeout(() => s.destroy(), 2000);
    });

  it('TRACE → 405', async () => {
    const res = await request(`${gw.url}/passes-200`, { method: 'TRACE' as 'GET' });
    assert.equal(res.statusCode, 405);
    await res.body.dump();
  });

  it('Transfer-Encoding other than chunked/identity → 501', async () => {
    const out = await raw('POST /passes-200 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n');
    assert.match(out, /^HTTP\/1.1 501 /);
  });

  it('malformed request line → 400; a header over 16 K → 400; X-Forwarded-For with 31 addresses → 463', async () => {
    assert.match(await raw('GARBAGE\r\n\r\n'), /^HTTP\/1.1 400 /);
    const big = await request(`${gw.url}/passes-200`, { headers: { 'x-big': 'a'.repeat(17 * 1024) } });
    assert.equal(big.statusCode, 400);
    await big.body.dump();
    const xff = await request(`${gw.url}/passes-200`, { headers: { 'x-forwarded-for': Array.from({ length: 31 }, (_, i) => `10.0.0.${i}`).join(', ') } });
    assert.equal(xff.statusCode, 463);
    await xff.body.dump();
  });

  it('a request head not finished within the idle timeout → 408', async () => {
    const out = await raw('GET /passes-200 HTTP/1.1\r\nHost: x\r\n');
    assert.match(out, /^HTTP\/1.1 408 Request Time-out\r\n/);
    // Access-log lines are written a turn after their request: wait for it rather than read at once.
    for (let i = 0; i < 50 && !gw.lines.some((l) => l.includes(' 408 - ') && l.includes('ClientRequestTimeout')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(gw.lines.some((l) => l.includes(' 408 - ') && l.includes('ClientRequestTimeout')));
  });

  it('a client that hangs up before the answer is logged as 460', async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(gw.port, '127.0.0.1', () => {
        s.write('GET /silent?hangup HTTP/1.1\r\nHost: x\r\n\r\n');
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 100);
      });
    });
    const log = await gw.logFor('/silent?hangup');
    assert.equal(log.elbStatusCode, '460');
  });
});

export type { RawTarget };
