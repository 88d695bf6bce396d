/**
 * `receipt start --prometheus` with Debian's Prometheus: it scrapes the gateway and the targets with the shipped
 * rules; the 4xx/5xx split it sees is the access log's; and a killed target raises the alerts that name the
 * targets as responsible. .ci/run installs Prometheus, so in CI a missing one fails instead of skipping.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { defaultGatewayConfig } from '../../src/gateway/config.ts';
import { FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';
import { eventually, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

const present = spawnSync('prometheus', ['--version']).status === 0;
if (!present && process.env.CI) throw new Error('prometheus is missing: .ci/run installs Debian’s prometheus package');

describe('receipt start --prometheus', { skip: present ? false : 'no prometheus (apt-get install prometheus); CI installs it' }, () => {
  let t: SystemUnderTest;
  let prom = '';
  const query = async (q: string): Promise<number> => {
    const res = (await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
    return res.data.result.reduce((n, r) => n + Number(r.value[1]), 0);
  };
  const alerts = async () =>
    ((await (await fetch(`${prom}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }).data.alerts;
  const lines = () => fs.readFileSync(t.system.accessLogFile, 'utf8').split('\n').filter(Boolean).map(parseAccessLine);

  before(async () => {
    t = await systemUnderTest(
      { TARGETS: '1', CONTROL_TOKEN: 'test-token' },
      {
        prometheus: { intervalS: 1 },
        gatewayConfig: (ports) => {
          const c = defaultGatewayConfig(ports, 5000);
          c.targetGroups[0]!.healthCheck = { path: '/healthz', intervalMs: 200, timeoutMs: 150, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' };
          return c;
        },
      },
    );
    prom = t.system.prometheusUrl!;
  });
  after(() => t.stop());

  it('scrapes the gateway and the target: both up', async () => {
    await eventually(async () => (await query('up{job="receipt-gateway"}')) === 1 && (await query('up{job="receipt-shop"}')) === 1, 15_000, 'both scraped');
  });

  it('the 4xx/5xx split Prometheus sees is the access log’s', async () => {
    for (let i = 0; i < 5; i++) await t.call('GET', '/products/42');
    for (let i = 0; i < 3; i++) await t.call('GET', '/orders');
    await t.call('GET', '/products/999999');
    const count = (cls: number) => lines().filter((f) => f[FIELD.targetStatusCode] !== '-' && Math.floor(Number(f[FIELD.targetStatusCode]) / 100) === cls).length;
    // The gateway and the target are two scrape jobs, each on its own schedule: wait for both.
    const authenticate401 = () => query('sum(receipt_shop_answers_total{status="401",step="authenticate"})');
    await eventually(
      async () =>
        (await query('sum(receipt_alb_httpcode_target_2xx_total)')) === count(2) &&
        (await query('sum(receipt_alb_httpcode_target_4xx_total)')) === count(4) &&
        (await authenticate401()) >= 3,
      15_000,
      'Prometheus to see what the access log has',
    );
    assert.equal(count(4), 4);
    assert.equal(await authenticate401(), 3, 'the target’s own metrics, scraped too');
  });

  it('a killed target: ReceiptNoHealthyTargets and ReceiptTargetsCrashing go pending, both naming the targets', async () => {
    assert.equal((await t.control('POST', '/targets/shop-1/kill')).statusCode, 200);
    // Fail-open: the gateway still tries the dead target, so clients get the gateway's 502s.
    for (let i = 0; i < 10; i++) assert.equal((await t.call('GET', '/products/42')).statusCode, 502);
    await eventually(
      async () => {
        const active = (await alerts()).filter((a) => a.state === 'pending' || a.state === 'firing');
        return ['ReceiptNoHealthyTargets', 'ReceiptTargetsCrashing'].every((name) => active.some((a) => a.labels.alertname === name && a.labels.side === 'targets'));
      },
      20_000,
      'both alerts pending',
    );
    const active = (await alerts()).filter((a) => a.state !== 'inactive').map((a) => a.labels.alertname);
    assert.ok(!active.includes('ReceiptTarget5xx'), 'the gateway’s 502s are not the application’s 5xx');
    assert.ok(!active.includes('ReceiptGatewayNoTarget'), 'the target is registered; the gateway is not short of one');
  });
});
