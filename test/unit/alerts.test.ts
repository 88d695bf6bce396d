/**
 * The shipped alert rules (ops/prometheus/): valid for Prometheus, each incident raises its alert and a healthy
 * system raises none (promtool's own unit tests), and every alert names the side responsible and a runbook that
 * exists. promtool comes from Debian's `prometheus` package; .ci/run installs it, so in CI a missing one fails.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';

const present = spawnSync('promtool', ['--version']).status === 0;
if (!present && process.env.CI) throw new Error('promtool is missing: .ci/run installs Debian’s prometheus package');
const skip = present ? false : 'no promtool (apt-get install prometheus); CI installs it';
const run = promisify(execFile);

interface Rule {
  alert?: string;
  record?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parseYaml(fs.readFileSync('ops/prometheus/alerts.yml', 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);

describe('alert rules', () => {
  it('promtool accepts the rules', { skip }, async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'ops/prometheus/alerts.yml']);
    assert.match(stdout, /SUCCESS/);
  });

  it('promtool’s unit tests pass: each incident raises its alert, a healthy system none', { skip }, async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'ops/prometheus/alerts.test.yml']);
    assert.match(stdout, /SUCCESS/);
  });

  it('every alert names the side responsible and a runbook that exists, and has a test that makes it fire', () => {
    const tests = fs.readFileSync('ops/prometheus/alerts.test.yml', 'utf8');
    assert.ok(alerts.length >= 8);
    for (const a of alerts) {
      assert.match(a.labels?.side ?? '', /^(gateway|targets|clients)$/, a.alert);
      assert.match(a.labels?.severity ?? '', /^(critical|warning)$/, a.alert);
      assert.ok(fs.existsSync(a.annotations!.runbook_url!), `${a.alert}: ${a.annotations?.runbook_url}`);
      assert.match(tests, new RegExp(`alertname: ${a.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a.alert} has a firing case`);
    }
  });
});
