/**
 * The live audit against an API built to break each rule on one route and keep it on the route beside it: every
 * broken route is found for its rule, and nothing else is reported — not on the good routes, not a second rule.
 * Then its manners: no unsafe method without --allow-writes, nothing at all on a dry run, the rate it was given.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditLive, planLive, RULES, type AuditReport, type Exchange } from '../../src/audit/index.ts';
import type { OpenApiDoc } from '../../src/audit/openapi.ts';
import { BROKEN, openapiDocument, startAuditFixture } from '../support/audit-fixture.ts';

const doc = openapiDocument() as OpenApiDoc;
const pathOf = (e: Exchange | undefined) => e?.operation?.split(' ')[1];

describe('receipt audit, live, on an API that breaks each rule once', () => {
  let fx: Awaited<ReturnType<typeof startAuditFixture>>;
  let report: AuditReport;
  const sent: Exchange[] = [];
  before(async () => {
    fx = await startAuditFixture();
    report = await auditLive({ url: fx.url, openapi: doc, openapiSource: 'fixture.json', token: 'alice-token', otherToken: 'bob-token', rate: 1000, allowWrites: true, onExchange: (e) => sent.push(e) });
  });
  after(() => fx?.close());

  it('the fixture breaks every rule the live audit knows (the access-log rules have their own test)', () => {
    const covered = new Set(Object.values(BROKEN).flat());
    const live = Object.keys(RULES).filter((r) => !r.startsWith('alb-'));
    assert.deepEqual(live.filter((r) => !covered.has(r)), []);
  });

  for (const [path, rules] of Object.entries(BROKEN)) {
    it(`${path}: ${rules.join(', ')}`, () => {
      for (const rule of rules) {
        const f = report.findings.find((x) => x.rule === rule && pathOf(x.exchange) === path);
        assert.ok(f, `${rule} on ${path}; found there: ${report.findings.filter((x) => pathOf(x.exchange) === path).map((x) => x.rule).join(', ') || 'nothing'}`);
        assert.equal(f.severity, RULES[rule as keyof typeof RULES].severity);
        assert.ok(f.message.length > 10);
      }
    });
  }

  it('nothing else: no finding on a good route, and no rule a broken route does not break', () => {
    const extra = report.findings.filter((f) => !BROKEN[pathOf(f.exchange) ?? '']?.includes(f.rule));
    assert.deepEqual(
      extra.map((f) => `${f.rule} on ${f.exchange?.request.method} ${f.exchange?.request.url} → ${f.exchange?.response.status}: ${f.message}`),
      [],
    );
  });

  it('every kind of probe was sent, and the comparisons had their pairs', () => {
    const probes = new Set(sent.map((e) => e.probe));
    for (const p of ['well-formed', 'malformed-json', 'wrong-type', 'rule-violation', 'no-credentials', 'invalid-token', 'other-user', 'other-user-missing', 'missing', 'wrong-method', 'allowed-method', 'head', 'if-none-match', 'if-match', 'range', 'range-unsatisfiable', 'redirect-hop']) {
      assert.ok(probes.has(p as Exchange['probe']), `a ${p} probe`);
    }
    assert.equal(report.exchanges, sent.length);
  });

  it('a body sent after a 204 is seen on the wire, byte for byte', () => {
    const e = sent.find((x) => pathOf(x) === '/broken/no-content' && x.response.status === 204)!;
    assert.equal(e.response.bytesAfterBodylessResponse, '{"deleted":true}'.length);
    const good = sent.find((x) => pathOf(x) === '/good/no-content' && x.response.status === 204)!;
    assert.equal(good.response.bytesAfterBodylessResponse, 0);
  });
});

describe('receipt audit, live: what it does not send', () => {
  let fx: Awaited<ReturnType<typeof startAuditFixture>>;
  before(async () => {
    fx = await startAuditFixture();
  });
  after(() => fx?.close());

  it('without --allow-writes: only safe methods, the rest listed as skipped; a test path allows writes under it', async () => {
    const sent: Exchange[] = [];
    const r = await auditLive({ url: fx.url, openapi: doc, openapiSource: 'f', token: 'alice-token', rate: 1000, onExchange: (e) => sent.push(e) });
    assert.ok(sent.length > 20);
    assert.deepEqual(sent.filter((e) => !['GET', 'HEAD', 'OPTIONS'].includes(e.request.method)).map((e) => `${e.request.method} ${e.request.url}`), []);
    assert.ok(r.skipped.some((s) => s.startsWith('POST /good/created: not safe')), r.skipped.join('\n'));
    assert.ok(sent.every((e) => e.request.url.startsWith(fx.url + '/')), 'only the origin given');

    const sent2: Exchange[] = [];
    await auditLive({ url: fx.url, openapi: doc, openapiSource: 'f', rate: 1000, testPaths: ['/good/validated'], onExchange: (e) => sent2.push(e) });
    const unsafe = new Set(sent2.filter((e) => !['GET', 'HEAD', 'OPTIONS'].includes(e.request.method)).map((e) => new URL(e.request.url).pathname));
    assert.deepEqual([...unsafe], ['/good/validated']);
  });

  it('the dry-run plan sends nothing and names what it would send', () => {
    const plan = planLive({ openapi: doc, allowWrites: false });
    assert.ok(plan.probes.some((p) => p.operation === 'GET /good/docs/{id}' && p.probe === 'missing'));
    assert.ok(!plan.probes.some((p) => p.operation.startsWith('POST ')));
    assert.ok(plan.skipped.some((s) => s.includes('POST /broken/created')));
  });

  it('--rate is kept: requests arrive at least 1/rate apart', async () => {
    const sent: Array<{ at: number }> = [];
    const few = { ...doc, paths: { '/good/auth': doc.paths!['/good/auth']!, '/good/limits': doc.paths!['/good/limits']! } };
    await auditLive({ url: fx.url, openapi: few, openapiSource: 'f', token: 'alice-token', rate: 20, onProgress: () => sent.push({ at: performance.now() }) });
    assert.ok(sent.length >= 5);
    // A lower bound on the spacing (never an upper one): 50 ms apart at 20 per second, less a timer's slack.
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.at - sent[i - 1]!.at >= 45, `gap ${i}: ${(sent[i]!.at - sent[i - 1]!.at).toFixed(1)} ms`);
  });
});
