/**
 * The live dashboard in a real browser (Debian's chromium through playwright-core): log in with ?token=, watch a
 * 401 counted under the step that decided it, kill a target with its button, and see the gateway's 502s and the
 * target turning unhealthy within the health-check interval. The page fills a wide window and a narrow one, and its
 * time axes read as clock times. Screenshots go to the test output (the 1920 px one after the kill is the one in
 * docs/dashboard.png).
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
// Not UTC and not a whole hour from it, so a clock in the browser's zone cannot be mistaken for the server's.
const BROWSER_ZONE = 'Asia/Kolkata';
const CLOCK = /^\d{2}:\d{2}(:\d{2})?$/;

/**
 * In the page, before its scripts: remember the text each canvas last painted. uPlot paints its axes' tick labels on
 * the canvas, so this is what a person reads there; a whole-canvas clear starts a new painting.
 */
function recordPaintedText() {
  const painted = new WeakMap<HTMLCanvasElement, string[]>();
  const proto = CanvasRenderingContext2D.prototype;
  const { clearRect, fillText } = proto;
  proto.clearRect = function (x, y, w, h) {
    if (x <= 0 && y <= 0 && w >= this.canvas.width && h >= this.canvas.height) painted.set(this.canvas, []);
    clearRect.call(this, x, y, w, h);
  };
  proto.fillText = function (text, x, y, maxWidth) {
    painted.set(this.canvas, [...(painted.get(this.canvas) ?? []), String(text)]);
    if (maxWidth === undefined) fillText.call(this, text, x, y);
    else fillText.call(this, text, x, y, maxWidth);
  };
  (window as unknown as { paintedText: (c: Element) => string[] }).paintedText = (c) => painted.get(c as HTMLCanvasElement) ?? [];
}

/** Widths as the browser laid them out, once pending resizes are drawn (two frames). */
function layout(page: Page) {
  return page.evaluate(async () => {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const root = document.documentElement;
    const charts = ['rate-chart', 'latency-chart'].map((id) => {
      const canvas = document.querySelector('#' + id + ' canvas')!;
      return { id, canvas: canvas.getBoundingClientRect().width, panel: canvas.closest('section')!.getBoundingClientRect().width };
    });
    return { window: root.clientWidth, scrollWidth: root.scrollWidth, header: document.querySelector('header')!.getBoundingClientRect().width, charts };
  });
}

function assertFills(l: Awaited<ReturnType<typeof layout>>, width: number) {
  assert.ok(l.window >= width - 20, `the window is ${l.window} px wide`);
  assert.ok(l.scrollWidth <= l.window, `no horizontal scroll: the page is ${l.scrollWidth} px in a ${l.window} px window`);
  assert.ok(l.header >= l.window - 1, `the header spans the window: ${l.header} of ${l.window} px`);
  for (const c of l.charts) assert.ok(c.canvas > 0.8 * c.panel, `${c.id} fills its panel: ${c.canvas} of ${c.panel} px`);
}

const secondOfDay = (clock: string) => clock.split(':').reduce((s, part, i) => s + Number(part) * [3600, 60, 1][i]!, 0);

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
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, timezoneId: BROWSER_ZONE });
    await page.addInitScript(recordPaintedText);
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

  it('fills a wide window and a narrow one, and its axes read as clock times and units', async () => {
    // Traffic for a few seconds, so the charts have points to draw and the x axis several seconds to mark.
    let flowing = true;
    const traffic = (async () => {
      for (let i = 0; flowing; i++) {
        await t.call('GET', i % 3 === 2 ? '/orders' : '/products/42');
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await page.waitForFunction(() => document.querySelectorAll('#recent tr').length >= 15, undefined, { timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 3000)); // a few seconds of it on the charts

      const wide = await layout(page);
      assertFills(wide, 1920);
      await page.screenshot({ path: path.join(os.tmpdir(), 'receipt-dashboard-1920.png'), fullPage: true });

      const painted = await page.evaluate(() =>
        ['rate-chart', 'latency-chart'].map((id) => (window as unknown as { paintedText: (c: Element) => string[] }).paintedText(document.querySelector('#' + id + ' canvas')!)),
      );
      const [rateText, latencyText] = painted as [string[], string[]];
      const ticksOf = (unit: string, texts: string[]) => {
        const values = texts.filter((x) => x.endsWith(' ' + unit));
        assert.ok(values.length >= 2, `the ${unit} axis has values: ${JSON.stringify(texts)}`);
        for (const v of values) assert.match(v, /^\d[\d,]* \S+$/, `a whole number and its unit, among ${JSON.stringify(values)}`);
        const times = texts.filter((x) => !x.endsWith(' ' + unit));
        for (const x of times) assert.match(x, CLOCK, `the time axis reads as clock times: ${JSON.stringify(times)}`);
        return times;
      };
      ticksOf('ms', latencyText);
      // The time axis: clock times, one per tick, a whole number of seconds apart, in the browser's local time.
      const ticks = ticksOf('req/s', rateText);
      assert.ok(ticks.length >= 3, `time ticks: ${JSON.stringify(rateText)}`);
      const seconds = ticks.map(secondOfDay);
      const steps = new Set(seconds.slice(1).map((s, i) => (s - seconds[i]! + 86_400) % 86_400));
      assert.equal(steps.size, 1, `evenly spaced: ${ticks.join(' ')}`);
      assert.ok([1, 2, 5, 10, 15, 30].includes([...steps][0]!), `a sensible step: ${ticks.join(' ')}`);
      const here = new Intl.DateTimeFormat('en-GB', { timeZone: BROWSER_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date());
      const behind = (secondOfDay(here) - seconds.at(-1)! + 86_400) % 86_400;
      assert.ok(behind < 120, `the newest tick ${ticks.at(-1)} is the browser's local time (${BROWSER_ZONE} now ${here})`);
      // The access log's lines on the same clock as the charts.
      const logged = (await page.textContent('#recent tr td'))!;
      assert.match(logged, CLOCK);
      assert.ok((secondOfDay(here) - secondOfDay(logged) + 86_400) % 86_400 < 120, `the newest access-log line at ${logged} is in local time (${BROWSER_ZONE} now ${here})`);

      await page.setViewportSize({ width: 800, height: 1080 });
      const narrow = await layout(page);
      assertFills(narrow, 800);
      for (const [i, c] of narrow.charts.entries()) assert.ok(c.canvas < wide.charts[i]!.canvas, `${c.id} shrinks: ${wide.charts[i]!.canvas} → ${c.canvas} px`);
      await page.screenshot({ path: path.join(os.tmpdir(), 'receipt-dashboard-800.png'), fullPage: true });
    } finally {
      flowing = false;
      await traffic;
      await page.setViewportSize({ width: 1920, height: 1080 });
    }
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
