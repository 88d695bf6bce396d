/**
 * The control commands' parts that need no running system: `faults set`'s KEY=VALUE arguments, finding the control
 * plane (flags, a missing file, a stale one), and the targets table.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, targetsTable, type TargetView } from '../../src/cli/control.ts';
import { FAULT_KEYS, parseFaultAssignments } from '../../src/cli/faults.ts';
import { terminalStyle } from '../../src/cli/style.ts';
import { controlFilePath, readControlFile, removeControlFile, writeControlFile } from '../../src/control/control-file.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-cli-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('receipt faults set KEY=VALUE', () => {
  it('takes each value as the fault document types it', () => {
    assert.deepEqual(parseFaultAssignments(['db_pool_exhausted=true', 'payment_latency_ms=2500', 'payment_failure_rate=0.25', 'malformed_target=shop-1', 'maintenance=off']), {
      db_pool_exhausted: true,
      payment_latency_ms: 2500,
      payment_failure_rate: 0.25,
      malformed_target: 'shop-1',
      maintenance: false,
    });
    // A value may itself hold `=` (a route pattern would not, but text is text).
    assert.deepEqual(parseFaultAssignments(['throw_on=POST /orders']), { throw_on: 'POST /orders' });
  });

  it('an unknown key is an error that lists every key it could have been', () => {
    assert.throws(() => parseFaultAssignments(['db_pool=true']), (e: Error) => {
      assert.match(e.message, /unknown fault "db_pool"/);
      for (const k of FAULT_KEYS) assert.ok(e.message.includes(k), `${k} listed`);
      return true;
    });
    // What GET adds is read-only: not a key to set.
    assert.throws(() => parseFaultAssignments(['payment_breaker=open']), /unknown fault "payment_breaker"/);
    assert.ok(!FAULT_KEYS.includes('payment_breaker'));
  });

  it('a value of the wrong type or out of range names the key and what it takes', () => {
    assert.throws(() => parseFaultAssignments(['payment_latency_ms=fast']), /payment_latency_ms takes integer 0–600000, not "fast"/);
    assert.throws(() => parseFaultAssignments(['payment_latency_ms=1.5']), /takes integer/);
    assert.throws(() => parseFaultAssignments(['payment_latency_ms=']), /takes integer/);
    assert.throws(() => parseFaultAssignments(['payment_failure_rate=2']), /payment_failure_rate takes number 0–1, not "2"/);
    assert.throws(() => parseFaultAssignments(['db_pool_exhausted=maybe']), /db_pool_exhausted takes true\|false/);
    assert.throws(() => parseFaultAssignments(['throw_on=']), /throw_on takes text/);
    assert.throws(() => parseFaultAssignments(['db_pool_exhausted']), /not KEY=VALUE/);
    assert.throws(() => parseFaultAssignments([]), /at least one KEY=VALUE/);
  });
});

describe('finding the running system', () => {
  it('--url and --token need no file', async () => {
    assert.deepEqual(await connect({ url: 'http://127.0.0.1:9/', token: 't' }), { url: 'http://127.0.0.1:9', token: 't' });
    // `receipt deploy`'s older spellings, typed, beat --url and --token (which commander may have filled from the environment).
    assert.deepEqual(await connect({ url: 'http://env:1', token: 'env', controlUrl: 'http://typed:2', controlToken: 'typed' }), { url: 'http://typed:2', token: 'typed' });
    await assert.rejects(connect({ url: 'http://127.0.0.1:9' }), /--url http:\/\/127\.0\.0\.1:9 needs --token/);
  });

  it('no file: says where it looked and how to start one', async () => {
    const dir = tmp();
    await assert.rejects(connect({ dataDir: dir }), (e: Error) => {
      assert.match(e.message, /no running system found/);
      assert.ok(e.message.includes(controlFilePath(dir).replace(/\/control\.json$/, '')), e.message);
      assert.match(e.message, /receipt start/);
      return true;
    });
  });

  it('a file left by a process that is gone is stale, and said so', async () => {
    const dir = tmp();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(controlFilePath(dir), JSON.stringify({ url: 'http://127.0.0.1:9', token: 't', pid: dead, kind: 'system', started_at: '' }));
    await assert.rejects(connect({ dataDir: dir }), new RegExp(`control\\.json is stale: the process that wrote it \\(pid ${dead}\\) is gone`));
  });

  it('a live pid whose address answers nothing is stale too; one that answers is used, with its token', async () => {
    const dir = tmp();
    writeControlFile(dir, { url: 'http://127.0.0.1:9', token: 'secret', kind: 'gateway' });
    await assert.rejects(connect({ dataDir: dir }), /stale: nothing answers at http:\/\/127\.0\.0\.1:9/);
    const server = http.createServer((_req, res) => res.writeHead(503).end()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    writeControlFile(dir, { url, token: 'secret', kind: 'gateway' });
    try {
      assert.deepEqual(await connect({ dataDir: dir }), { url, token: 'secret' });
    } finally {
      server.close();
    }
  });

  it('the file is the owner’s alone, and only the process that wrote it removes it', () => {
    const dir = tmp();
    const file = writeControlFile(dir, { url: 'http://127.0.0.1:9', token: 'secret', kind: 'system' });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(readControlFile(dir)?.pid, process.pid);
    fs.writeFileSync(file, JSON.stringify({ ...readControlFile(dir), pid: process.pid + 1 }));
    removeControlFile(dir);
    assert.ok(fs.existsSync(file), 'another system’s file stays');
    writeControlFile(dir, { url: 'http://127.0.0.1:9', token: 'secret', kind: 'system' });
    removeControlFile(dir);
    assert.ok(!fs.existsSync(file));
  });
});

describe('the targets table', () => {
  const t = (over: Partial<TargetView>): TargetView => ({
    id: 'shop-3',
    target_group: 'shop',
    url: 'http://127.0.0.1:4001',
    state: 'healthy',
    reason: 'Target.Healthy',
    process: 'running',
    version: 'v2',
    pid: 77,
    in_flight: 3,
    last_health_check: { status: 200, at: '' },
    former_names: ['shop-1'],
    ...over,
  });

  it('one row a target, columns aligned, a replaced name beside its successor', () => {
    const plain = { ...terminalStyle(), color: false, bold: (s: string) => s, dim: (s: string) => s, red: (s: string) => s, yellow: (s: string) => s };
    const out = targetsTable([t({}), t({ id: 'shop-2', former_names: [], state: 'unhealthy', reason: 'Target.FailedHealthChecks', process: 'stopped', pid: null, in_flight: 0, last_health_check: { error: 'ECONNREFUSED', at: '' } })], plain);
    const [head, a, b] = out.split('\n');
    assert.match(head!, /^TARGET\s+ADDRESS\s+GROUP\s+STATE\s+REASON\s+IN FLIGHT\s+PROCESS\s+VERSION\s+LAST CHECK$/);
    assert.match(a!, /^shop-3 \(was shop-1\)\s+127\.0\.0\.1:4001\s+shop\s+healthy\s+Target\.Healthy\s+3\s+running, pid 77\s+v2\s+200$/);
    assert.match(b!, /^shop-2\s+.*unhealthy\s+Target\.FailedHealthChecks\s+0\s+stopped\s+v2\s+ECONNREFUSED$/);
    assert.equal(head!.indexOf('STATE'), a!.indexOf('healthy'));
    assert.equal(a!.indexOf('healthy'), b!.indexOf('unhealthy'));
  });

  it('colour marks the states only when the style has colour (NO_COLOR: none)', () => {
    const colour = { ...terminalStyle(), color: true, red: (s: string) => `<r>${s}</r>` };
    assert.match(targetsTable([t({ state: 'unhealthy' })], colour), /<r>unhealthy\s*<\/r>/);
    const previous = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      assert.doesNotMatch(targetsTable([t({ state: 'unhealthy' })], terminalStyle({ isTTY: true } as NodeJS.WriteStream)), /\x1b\[/); // eslint-disable-line no-control-regex
    } finally {
      if (previous === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = previous;
    }
  });
});
