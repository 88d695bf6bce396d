/**
 * `receipt audit` as a user runs it, in its own process: the exit codes (0 clean, 1 findings, 2 could not run), the
 * four report formats — SARIF validated against the OASIS SARIF 2.1.0 schema, JUnit XML parsed — `--output`,
 * `--fail-on`, `--dry-run` (nothing sent) and NO_COLOR.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { RULES } from '../../src/audit/index.ts';
import { openapiDocument, startAuditFixture } from '../support/audit-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-audit-'));
const openapiFile = path.join(tmp, 'openapi.json');
fs.writeFileSync(openapiFile, JSON.stringify(openapiDocument(), null, 2));

function receipt(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('receipt audit (the command)', () => {
  let fx: Awaited<ReturnType<typeof startAuditFixture>>;
  before(async () => {
    fx = await startAuditFixture();
  });
  after(async () => {
    await fx?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const live = (...more: string[]) => ['--url', fx.url, '--openapi', openapiFile, '--token', 'alice-token', '--as-other-user-token', 'bob-token', '--allow-writes', '--rate', '1000', ...more];

  it('findings → exit 1; the text report groups by rule, names the fix and the source, and has no colour under NO_COLOR', async () => {
    const r = await receipt(live());
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /✖ error {3}created-without-location {2}201 Created without Location/);
    assert.match(r.stdout, /POST \/broken\/created → 201: 201 without a Location field/);
    assert.match(r.stdout, /fix: Send `Location:`/);
    assert.match(r.stdout, /source: RFC 9110 §15\.3\.2/);
    assert.match(r.stdout, /openapi\.json:\d+\]/, 'findings point at the line of their path in the document');
    assert.ok(!(r.stdout + r.stderr).includes('\u001b['), 'no escape sequences under NO_COLOR');
    assert.match(r.stdout, /\d+ errors, \d+ warnings, \d+ notes$/m);
  });

  it('SARIF 2.1.0: valid against the OASIS schema; every rule described; results carry a level and a location', async () => {
    const out = path.join(tmp, 'audit.sarif');
    const r = await receipt(live('--format', 'sarif', '--output', out));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /report written to .*audit\.sarif/);
    const sarif = JSON.parse(fs.readFileSync(out, 'utf8'));
    const schema = JSON.parse(fs.readFileSync('test/fixtures/sarif-schema-2.1.0.json', 'utf8'));
    // The published schema's `language` pattern is not valid under the `u` flag Ajv uses by default.
    // Both packages are CommonJS with the class on `default`.
    const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
    ajvFormats.default(ajv);
    const validate = ajv.compile<typeof sarif>(schema);
    assert.ok(validate(sarif), JSON.stringify(validate.errors?.slice(0, 5), null, 2));
    assert.equal(sarif.version, '2.1.0');
    const run = sarif.runs[0];
    assert.deepEqual(run.tool.driver.rules.map((x: { id: string }) => x.id), Object.keys(RULES));
    assert.ok(run.results.length > 20);
    for (const res of run.results) {
      assert.equal(run.tool.driver.rules[res.ruleIndex].id, res.ruleId);
      assert.ok(['error', 'warning', 'note'].includes(res.level));
      assert.ok(res.locations[0].physicalLocation.artifactLocation.uri.endsWith('openapi.json'));
    }
    // The schema is not a rubber stamp: a level SARIF does not know is refused.
    assert.equal(validate({ ...sarif, runs: [{ ...run, results: [{ ...run.results[0], level: 'fatal' }] }] }), false);
  });

  it('JUnit XML: well-formed, one test case per rule, a failure for each rule broken at --fail-on', async () => {
    const r = await receipt(live('--format', 'junit'));
    assert.equal(r.code, 1);
    assert.equal(XMLValidator.validate(r.stdout), true);
    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(r.stdout);
    const suite = xml.testsuites.testsuite;
    assert.equal(suite.testcase.length, Object.keys(RULES).length);
    const failed = suite.testcase.filter((c: { failure?: unknown }) => c.failure).map((c: { name: string }) => c.name.split(':')[0]);
    const errorRules = Object.entries(RULES).filter(([id, x]) => x.severity === 'error' && !id.startsWith('alb-')).map(([id]) => id);
    assert.deepEqual(failed.sort(), errorRules.sort());
    assert.equal(Number(suite.failures), failed.length);
    const created = suite.testcase.find((c: { name: string }) => c.name.startsWith('created-without-location'));
    assert.match(created.failure['#text'], /POST \/broken\/created → 201/);
  });

  it('JSON: every finding with its exchange; --fail-on warning fails on warnings alone', async () => {
    const r = await receipt(live('--format', 'json'));
    const report = JSON.parse(r.stdout);
    assert.equal(report.input.kind, 'live');
    const f = report.findings.find((x: { rule: string }) => x.rule === 'retry-after-missing');
    assert.equal(f.exchange.response.status, 503);
    assert.ok(report.rules['retry-after-missing'].fix);

    const log = path.join(tmp, 'warn.log');
    fs.writeFileSync(log, '');
    // An access log whose only finding is a warning (a 460): 0 by default, 1 with --fail-on warning.
    const line = 'http 2026-11-28T10:00:00.000000Z app/x/0 10.0.0.1:1 - 0.000 -1 -1 460 - 10 0 "GET http://h:80/slow HTTP/1.1" "curl" - - targetgroup/x "Root=1-x" "-" "-" 0 2026-11-28T10:00:00.000000Z "forward" "-" "-" "-" "-" "-" "-"';
    fs.writeFileSync(log, line + '\n');
    assert.equal((await receipt(['--access-log', log])).code, 0);
    const strict = await receipt(['--access-log', log, '--fail-on', 'warning']);
    assert.equal(strict.code, 1, strict.stdout + strict.stderr);
    assert.match(strict.stdout, /alb-client-closed/);
  });

  it('--dry-run prints the plan and sends nothing', async () => {
    const counting = await startAuditFixture();
    try {
      const r = await receipt(['--url', counting.url, '--openapi', openapiFile, '--dry-run']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /probes planned to http:\/\/127\.0\.0\.1:\d+ at most 10 per second/);
      assert.match(r.stdout, /POST \/good\/created: not safe to send/);
      assert.match(r.stdout, /GET \/good\/docs\/\{id\} +missing/);
      assert.equal(counting.requests(), 0);
    } finally {
      await counting.close();
    }
  });

  it('could not run → exit 2 with a message: no input, two inputs, a missing file, an unknown option, a bad rate, a document that is not OpenAPI 3', async () => {
    const notOpenApi = path.join(tmp, 'swagger.json');
    fs.writeFileSync(notOpenApi, '{"swagger":"2.0"}');
    for (const [args, message] of [
      [[], /exactly one of --url, --har, --access-log/],
      [['--har', 'a.har', '--access-log', 'b.log'], /exactly one/],
      [['--har', path.join(tmp, 'nope.har')], /nope\.har: no such file/],
      [['--bogus'], /unknown option '--bogus'/],
      [['--url', fx.url, '--rate', '0'], /--rate/],
      [['--url', fx.url, '--openapi', notOpenApi], /not an OpenAPI 3\.x document/],
      [['--url', 'http://127.0.0.1:9', '--openapi', openapiFile, '--timeout-ms', '500'], /no request was answered/],
    ] as Array<[string[], RegExp]>) {
      const r = await receipt(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
