/**
 * Receipt judged by its own audit: the whole system started (gateway in front of the targets, PostgreSQL), then
 * `receipt audit --url … --openapi …` in its own process with two users' tokens and writes allowed. Any finding is
 * a bug in the shop or in the audit, so none is allowed — not even a note. Then the access log the run left behind,
 * audited as an ALB log: no 5xx made by anyone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { auditLive, type Exchange } from '../../src/audit/index.ts';
import type { OpenApiDoc } from '../../src/audit/openapi.ts';
import { sharedSystem, type SharedSystem } from '../support/system.ts';

function receipt(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('receipt audit on Receipt itself', () => {
  let t: SharedSystem;
  let alice: string;
  let bob: string;
  before(async () => {
    // The audit keeps to its --rate; the shop's limits would answer 429 (judged, and fine) instead of the route.
    t = await sharedSystem();
    alice = (await t.bearer('alice')).authorization!.slice('Bearer '.length);
    bob = (await t.bearer('bob')).authorization!.slice('Bearer '.length);
  });
  after(() => t?.stop());

  it('the command: exit 0 and no finding at all, with every write allowed', async () => {
    const r = await receipt(['audit', '--url', t.system.url, '--openapi', `${t.system.url}/openapi.json`, '--token', alice, '--as-other-user-token', bob, '--allow-writes', '--rate', '200', '--format', 'json']);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(
      report.findings.map((f: { rule: string; message: string; exchange?: Exchange }) => `${f.rule}: ${f.exchange?.request.method} ${f.exchange?.request.url} → ${f.exchange?.response.status}: ${f.message}`),
      [],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(report.exchanges > 150, `${report.exchanges} exchanges`);
  });

  it('what it reached: orders created and hidden from another user, ranges, revalidation, every 405 with a true Allow', async () => {
    const sent: Exchange[] = [];
    const doc = (await (await fetch(`${t.system.url}/openapi.json`)).json()) as OpenApiDoc;
    const report = await auditLive({ url: t.system.url, openapi: doc, openapiSource: 'openapi.json', token: alice, otherToken: bob, allowWrites: true, rate: 200, onExchange: (e) => sent.push(e) });
    assert.deepEqual(report.findings, []);
    const seen = (probe: Exchange['probe'], op: string, status: number) => sent.some((e) => e.probe === probe && e.operation === op && e.response.status === status);
    assert.ok(seen('well-formed', 'POST /orders', 201), 'an order placed from the document’s example');
    assert.ok(seen('well-formed', 'GET /orders/{id}', 200), 'the owner reads it');
    assert.ok(seen('other-user', 'GET /orders/{id}', 404), 'another user gets a 404 for it');
    assert.ok(seen('missing', 'GET /orders/{id}', 404));
    assert.ok(seen('range', 'GET /videos/{name}', 206) && seen('range-unsatisfiable', 'GET /videos/{name}', 416));
    assert.ok(seen('if-none-match', 'GET /products/{id}', 304));
    assert.ok(seen('wrong-type', 'POST /orders', 400) && seen('malformed-json', 'POST /orders', 400));
    assert.ok(seen('no-credentials', 'POST /orders', 401) && seen('invalid-token', 'POST /orders', 401));
    const wrong = sent.filter((e) => e.probe === 'wrong-method');
    assert.ok(wrong.length >= 10 && wrong.every((e) => e.response.status === 405 && e.response.headers.allow), 'every wrong method: 405 with Allow');
    assert.ok(!sent.some((e) => e.probe === 'allowed-method' && e.response.status === 405), 'no method Allow lists is refused');
  });

  it("the access log of those runs, audited as ALB's: no 5xx, nothing unreadable", async () => {
    const r = await receipt(['audit', '--access-log', t.system.accessLogFile, '--format', 'json', '--fail-on', 'warning']);
    const report = JSON.parse(r.stdout);
    assert.equal(r.code, 0, r.stdout);
    assert.ok(report.summary.requests > 300, JSON.stringify(report.summary));
    assert.equal(report.summary['5xx'], 0);
    assert.deepEqual(report.skipped, []);
  });
});
