/**
 * The pages a person sees, in a real browser (Debian's chromium, driven by playwright-core), through the gateway:
 * the API docs render every route, the home page loads, in maintenance mode the browser follows the 302 to the
 * maintenance page, and the admin console signs the browser in at the load balancer (the provider's own pages). In CI a missing browser fails the run; elsewhere the test is skipped with a reason.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../support/browser.ts';
import { systemUnderTest, type SystemUnderTest } from '../support/system.ts';

const skip = skipWithoutChromium;

describe('pages in a real browser', { skip }, () => {
  let t: SystemUnderTest;
  let browser: Browser;
  before(async () => {
    t = await systemUnderTest({ TARGETS: '1', CONTROL_TOKEN: 'tok' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('/docs renders the API, every route listed, from the generated OpenAPI document', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.system.url}/docs/`);
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent?.trim()));
    for (const p of ['/orders', '/orders/{id}', '/products/{id}', '/checkout', '/reports/generate', '/videos/{name}']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    const shot = path.join(os.tmpdir(), 'receipt-docs.png');
    await page.screenshot({ path: shot });
    assert.ok(fs.statSync(shot).size > 10_000, 'a rendered page, not a blank one');
    await page.close();
  });

  it('the home page loads; in maintenance mode the browser lands on /maintenance.html', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${t.system.url}/`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.textContent('h1'), 'Receipt');
    assert.equal((await t.control('PUT', '/faults', { maintenance: true })).statusCode, 200);
    try {
      let landed = '';
      for (let i = 0; i < 20 && !landed.endsWith('/maintenance.html'); i++) {
        await page.goto(`${t.system.url}/`);
        landed = page.url();
        if (!landed.endsWith('/maintenance.html')) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(landed.endsWith('/maintenance.html'), landed);
      assert.equal(await page.textContent('h1'), 'Down for maintenance');
    } finally {
      await t.control('DELETE', '/faults');
    }
    await page.close();
  });
  it('the admin console: the browser is sent to the provider, signs in on its pages, and lands on the console', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const console = `https://localhost:${new URL(t.system.httpsUrl).port}/console`;
    await page.goto(console);
    // The load balancer's 302 took the browser to the provider's login page.
    assert.ok(page.url().startsWith(t.system.signIn!.issuer), page.url());
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'admin-pass');
    await page.click('button');
    // The consent page, the first time this user meets the client.
    if (await page.$('form[action$="/confirm"]')) await page.click('button');
    await page.waitForURL(console, { timeout: 10_000 });
    assert.match((await page.textContent('#who')) ?? '', /Signed in as admin \(admin\), by the load balancer/);
    const cookies = await context.cookies(console);
    assert.ok(cookies.some((c) => c.name === 'AWSELBAuthSessionCookie-0' && c.secure && c.httpOnly), JSON.stringify(cookies.map((c) => c.name)));
    await context.close();
  });
});
