/**
 * ALB's CloudWatch metrics on the control plane's /metrics (src/control/alb-metrics.ts), counted by AWS's rules and
 * checked against the access log for the same traffic: targets answering 200, 404 and 500, redirects, fixed
 * responses, a refused target, no target at all, a silent one, a malformed request, a client that leaves, and a
 * failed TLS handshake. An ELB-made 502 must never be a target 5xx; a 460 is an ELB 4xx.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { GatewayMetrics } from '../../src/control/metrics.ts';
import { AccessLog, FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';
import { validateGatewayConfig, type GatewayConfig } from '../../src/gateway/config.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { loadOrCreateCertificate } from '../../src/gateway/tls.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';
import { ok, rawTarget, refusedPort, type RawTarget } from '../support/misbehaving.ts';
import { rawConnect, rawExchange } from '../support/raw-client.ts';

const lines: string[] = [];
let gateway: Gateway;
let metrics: GatewayMetrics;
let url = '';
let port = 0;
let httpsPort = 0;
let tmp = '';
const targets: Array<HttpTarget | RawTarget> = [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-alb-metrics-'));
  const forward = (name: string) => [{ type: 'forward' as const, targetGroups: [{ name }] }];
  const rule = (priority: number, p: string, actions: GatewayConfig['listeners'][number]['defaultActions']) => ({ priority, conditions: [{ field: 'path-pattern' as const, values: [p] }], actions });
  const config: GatewayConfig = {
    idleTimeoutMs: 300,
    connectTimeoutMs: 300,
    listeners: ['HTTP', 'HTTPS'].map((protocol) => ({
      protocol: protocol as 'HTTP' | 'HTTPS',
      port: 0,
      rules: [
        rule(1, '/redirect', [{ type: 'redirect', statusCode: 'HTTP_301', path: '/elsewhere' }]),
        rule(2, '/fixed', [{ type: 'fixed-response', statusCode: '404', messageBody: 'none here' }]),
        rule(3, '/five', forward('five')),
        rule(4, '/four', forward('four')),
        rule(5, '/refused', forward('refused')),
        rule(6, '/empty', forward('empty')),
        rule(7, '/silent*', forward('silent')),
      ],
      defaultActions: forward('ok'),
    })),
    targetGroups: ['ok', 'five', 'four', 'refused', 'empty', 'silent'].map((name) => ({ name, healthCheck: { path: '/healthz', intervalMs: 300_000, timeoutMs: 200 } })),
  };
  const accessLog = new AccessLog({});
  accessLog.onLine((line) => lines.push(line));
  const ref: { m?: GatewayMetrics } = {};
  gateway = new Gateway({ config: validateGatewayConfig(config), host: '127.0.0.1', accessLog, tls: await loadOrCreateCertificate(tmp), onRecord: (r) => ref.m?.record(r) });
  metrics = ref.m = new GatewayMetrics(gateway);
  await gateway.listen();
  [port, httpsPort] = gateway.ports as [number, number];
  url = `http://127.0.0.1:${port}`;
  const okTarget = await httpTarget('ok');
  const five = await rawTarget((s) => s.write(ok(500, 'oops')));
  const four = await rawTarget((s) => s.write(ok(404, 'no such thing')));
  const silent = await rawTarget(() => {});
  targets.push(okTarget, five, four, silent);
  gateway.group('ok').register('ok', '127.0.0.1', okTarget.port);
  gateway.group('five').register('five', '127.0.0.1', five.port);
  gateway.group('four').register('four', '127.0.0.1', four.port);
  gateway.group('refused').register('refused', '127.0.0.1', await refusedPort());
  gateway.group('silent').register('silent', '127.0.0.1', silent.port);
  await new Promise((r) => setTimeout(r, 300)); // the first health checks (ok → healthy)
});
after(async () => {
  await gateway.close(200);
  for (const t of targets) await t.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The sum of a metric's series (optionally those whose labels contain `match`). */
async function value(name: string, match = ''): Promise<number> {
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(match))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('ALB metrics, counted as CloudWatch counts them', () => {
  before(async () => {
    const get = async (p: string) => (await request(url + p)).body.dump();
    for (let i = 0; i < 3; i++) await get('/');
    await get('/redirect');
    await get('/fixed');
    await get('/five');
    await get('/five');
    await get('/four');
    await get('/refused');
    await get('/refused');
    await get('/empty');
    await get('/silent');
    await rawExchange(port, 'GARBAGE\r\n\r\n');
    // A client that gives up while the gateway waits on the silent target: 460.
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('GET /silent-hangup HTTP/1.1\r\nHost: x\r\n\r\n');
        setTimeout(() => (s.destroy(), resolve()), 100);
      });
    });
    // A TLS handshake that cannot succeed: plain bytes to the HTTPS listener.
    await rawExchange(httpsPort, 'this is not TLS\r\n\r\n', { timeoutMs: 500 });
    for (let i = 0; i < 100 && lines.length < 14; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 400)); // the 460 is logged once the idle timeout ends the target's wait
  });

  const fields = () => lines.map(parseAccessLine);
  const elbMade = () => fields().filter((f) => f[FIELD.targetStatusCode] === '-');

  it('HTTPCode_ELB_*: answers no target gave — 301, 404 fixed, 400, 460, 502 ×2, 503, 504', async () => {
    const count = (lo: number, hi: number) => elbMade().filter((f) => Number(f[FIELD.elbStatusCode]) >= lo && Number(f[FIELD.elbStatusCode]) < hi).length;
    assert.equal(await value('receipt_alb_httpcode_elb_3xx_total'), count(300, 400));
    assert.equal(await value('receipt_alb_httpcode_elb_4xx_total'), count(400, 500));
    assert.equal(await value('receipt_alb_httpcode_elb_5xx_total'), count(500, 600));
    assert.equal(await value('receipt_alb_httpcode_elb_3xx_total'), 1);
    assert.equal(await value('receipt_alb_httpcode_elb_4xx_total'), 3, 'the fixed 404, the 400 and the 460');
    assert.equal(await value('receipt_alb_httpcode_elb_502_total'), 2);
    assert.equal(await value('receipt_alb_httpcode_elb_503_total'), 1);
    assert.equal(await value('receipt_alb_httpcode_elb_504_total'), 1);
    assert.equal(await value('receipt_alb_httpcode_elb_500_total'), 0);
  });

  it('HTTPCode_Target_*: what targets sent — the ELB-made 502s are not among the target 5xx', async () => {
    const byTarget = (cls: number) => fields().filter((f) => f[FIELD.targetStatusCode] !== '-' && Math.floor(Number(f[FIELD.targetStatusCode]) / 100) === cls).length;
    for (const cls of [2, 3, 4, 5]) assert.equal(await value(`receipt_alb_httpcode_target_${cls}xx_total`), byTarget(cls), `${cls}xx`);
    assert.equal(await value('receipt_alb_httpcode_target_5xx_total'), 2, 'the two 500s the target sent, and nothing else');
    assert.equal(await value('receipt_alb_httpcode_target_2xx_total', 'target_group="ok"'), 3);
  });

  it('RequestCount: requests for which a target was chosen; TargetConnectionErrorCount: the refused ones', async () => {
    assert.equal(await value('receipt_alb_request_count_total'), fields().filter((f) => f[FIELD.target] !== '-').length);
    assert.equal(await value('receipt_alb_target_connection_error_count_total', 'target_group="refused"'), 2);
    assert.equal(await value('receipt_alb_target_connection_error_count_total'), 2);
  });

  it('TargetResponseTime is observed once per target answer; HTTP_Fixed_Response_Count and HTTP_Redirect_Count', async () => {
    assert.equal(await value('receipt_alb_target_response_time_seconds_count'), fields().filter((f) => f[FIELD.targetStatusCode] !== '-').length);
    assert.equal(await value('receipt_alb_http_fixed_response_count_total'), 1);
    assert.equal(await value('receipt_alb_http_redirect_count_total'), 1);
  });

  it('ProcessedBytes is what the access log says was received and sent', async () => {
    const total = fields().reduce((n, f) => n + Number(f[FIELD.receivedBytes]) + Number(f[FIELD.sentBytes]), 0);
    assert.equal(await value('receipt_alb_processed_bytes_total'), total);
  });

  it('hosts and connections: HealthyHostCount, ClientTLSNegotiationErrorCount, NewConnectionCount, ActiveConnectionCount', async () => {
    assert.equal(await value('receipt_alb_healthy_host_count', 'target_group="ok"'), 1);
    assert.equal(await value('receipt_alb_client_tls_negotiation_error_count_total'), 1);
    // 13 client connections (undici reuses one for the GETs) and at least one to each target that answered.
    assert.ok((await value('receipt_alb_new_connection_count_total')) >= 5);
    // Idle connections close after ALB's idle timeout (300 ms here), so an open one is held while the gauge is read.
    const held = await rawConnect(port);
    assert.ok((await value('receipt_alb_active_connection_count')) >= 1, 'a client connection that is open');
    held.destroy();
    assert.equal(await value('receipt_alb_rejected_connection_count_total'), 0);
  });
});
