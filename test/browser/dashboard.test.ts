/**
 * The live dashboard in a real browser (Debian's chromium through playwright-core): log in with ?token=, watch a
 * 401 counted under the step that decided it, kill a target with its button, and see the gateway's 502s and the
 * target turning unhealthy within the health-check interval. A screenshot goes to the test output.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { defaultGatewayConfig } from '../../src/gateway/config.ts';
import { launchChromium, skipWithoutChromium } from '../support/browser.ts';
import { systemUnderTest, type SystemUnderTest } from '../support/system.ts';

const skip = skipWithoutChromium;
const HEALTH = { intervalMs: 1000, unhealthyThreshold: 2 };

describe('the live dashboard', { skip }, () => {
  let t: SystemUnderTest;
  let browser: Browser;
  let page: Page;
  before(async () => {
    t = await systemUnderTest(
      { TARGETS: '2', CONTROL_TOKEN: 'tok' },
      {
        gatewayConfig: (ports) => {
          const c = defaultGatewayConfig(ports, 5000);
          c.targetGroups[0]!.healthCheck = { path: '/healthz', intervalMs: HEALTH.intervalMs, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: HEALTH.unhealthyThreshold, matcher: '200' };
          return c;
        },
      },
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('needs the token: without it, a page that says how to log in', async () => {
    const res = await fetch(`${t.system.controlUrl}/dashboard`);
    assert.equal(res.status, 401);
    assert.match(await res.text(), /dashboard\?token=/);
    assert.equal((await fetch(`${t.system.controlUrl}/dashboard?token=wrong`)).status, 401);
  });

  it('?token= logs in (an HttpOnly cookie), and the targets show healthy', async () => {
    await page.goto(`${t.system.controlUrl}/dashboard?token=tok`);
    assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'receipt_control');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    await page.waitForFunction(() => document.querySelectorAll('#targets tr .state-healthy').length === 2, undefined, { timeout: 10_000 });
  });

  it('a 401 shows under the step that decided it', async () => {
    for (let i = 0; i < 3; i++) await t.call('GET', '/orders');
    await page.waitForFunction(() => document.getElementById('steps')!.textContent!.includes('401 from authenticate'), undefined, { timeout: 10_000 });
  });

  it('kill a target with its button: ELB 502s counted, the target unhealthy within the health-check interval', async () => {
    await page.click('button[data-action="kill"][data-target="shop-1"]');
    await page.waitForFunction(() => /kill → 200/.test(document.getElementById('action-result')!.textContent!), undefined, { timeout: 10_000 });
    // Until the health checks notice, round robin still sends half the requests to the dead target: 502s.
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await t.call('GET', '/products/42')).statusCode);
    assert.ok(statuses.includes(502), `got ${statuses.join(',')}`);
    await page.waitForFunction(() => Number(document.getElementById('elb-502')!.textContent) > 0, undefined, { timeout: 5000 });
    await page.waitForFunction(() => document.querySelector('#targets tr[data-target="shop-1"] .state')?.textContent === 'unhealthy', undefined, {
      timeout: HEALTH.intervalMs * (HEALTH.unhealthyThreshold + 1) + 2000,
    });
    const shot = path.join(os.tmpdir(), 'receipt-dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    assert.ok(fs.statSync(shot).size > 10_000);
  });
});
