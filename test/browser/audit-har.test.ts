/**
 * A HAR recorded by a real browser (Debian's chromium through playwright-core) while a person browses the home page
 * and the API docs, follows the http → https → www redirects, revalidates a product and places an order — then judged by
 * `receipt audit --har`. Receipt must come out clean, and the recording must hold what makes that mean something:
 * the 201 of the order, a redirect, a 304.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { auditHar } from '../../src/audit/index.ts';
import { launchChromium, skipWithoutChromium } from '../support/browser.ts';
import { sharedSystem, type SharedSystem } from '../support/system.ts';

const skip = skipWithoutChromium;

describe('a HAR recorded in chromium, audited', { skip }, () => {
  let t: SharedSystem;
  let browser: Browser;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-har-'));
  const harFile = path.join(dir, 'shop.har');
  before(async () => {
    t = await sharedSystem();
    browser = await launchChromium();
    const context = await browser.newContext({ recordHar: { path: harFile, content: 'embed' } });
    const page = await context.newPage();
    const u = t.system.url;
    await page.goto(`${u}/`);
    await page.goto(`${u}/docs/`);
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
    await page.goto(`${u}/legacy/products/42`); // 301 → /products/42
    const placed = await page.evaluate(async () => {
      const token = await fetch('/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'alice-pass' }) });
      const { access_token } = (await token.json()) as { access_token: string };
      const auth = { authorization: `Bearer ${access_token}` };
      const product = await fetch('/products/42');
      // A condition the page sets itself bypasses the browser's cache (Fetch standard), so the 304 reaches the page.
      await fetch('/products/42', { headers: { 'if-none-match': product.headers.get('etag') ?? '' } });
      const order = await fetch('/orders', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify({ product_id: 42, quantity: 1, payment_token: 'tok_visa' }),
      });
      const location = order.headers.get('location');
      if (location) await fetch(location, { headers: auth });
      await fetch('/orders/999999999', { headers: auth }); // a 404 problem
      return { status: order.status, location };
    });
    assert.equal(placed.status, 201);
    await context.close(); // writes the HAR
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the recording holds the order, a redirect and a revalidation', () => {
    const har = JSON.parse(fs.readFileSync(harFile, 'utf8')) as { log: { entries: Array<{ request: { method: string; url: string }; response: { status: number } }> } };
    const statuses = har.log.entries.map((e) => `${e.request.method} ${new URL(e.request.url).pathname} ${e.response.status}`);
    assert.ok(statuses.includes('POST /orders 201'), statuses.join('\n'));
    assert.ok(statuses.includes('GET /legacy/products/42 301'), statuses.join('\n'));
    assert.ok(statuses.includes('GET /products/42 304'), statuses.join('\n'));
    assert.ok(statuses.some((s) => s.startsWith('GET /docs/') && s.endsWith(' 200')));
  });

  it('receipt audit --har: every exchange judged, no finding, exit 0', async () => {
    const report = auditHar(fs.readFileSync(harFile, 'utf8'), harFile);
    assert.ok(report.exchanges >= 10, `${report.exchanges} exchanges`);
    assert.deepEqual(report.findings.map((f) => `${f.rule}: ${f.exchange?.request.method} ${f.exchange?.request.url} → ${f.exchange?.response.status}: ${f.message}`), []);
    const cli = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', '--har', harFile, '--fail-on', 'warning'], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    assert.equal(cli.code, 0, cli.out);
    assert.match(cli.out, /receipt audit — har: .*shop\.har · \d+ exchanges judged/);
    assert.match(cli.out, /no findings/);
  });
});
