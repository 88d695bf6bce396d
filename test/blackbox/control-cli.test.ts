/**
 * The control plane from a second terminal: a started system, and `receipt targets | kill | start | drain | faults |
 * deploy` run as their own processes with nothing but the system's DATA_DIR — no URL, no token. Each is checked by
 * what it prints and by what it did (GET /targets, GET /faults, the gateway's answers). After a deployment the names
 * the user saw still work. `receipt gateway` writes the same file, and removes it when it stops.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, fastHealthChecks, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

let t: SystemUnderTest;
before(async () => {
  t = await systemUnderTest({ TARGETS: '2', RATE_LIMIT: '1000000' }, { gatewayConfig: fastHealthChecks({ deregistrationDelayMs: 1500 }) });
});
after(() => t.stop());

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** `receipt ARGS` as a second terminal runs it: its own process, only DATA_DIR (no control URL or token anywhere). */
function receipt(args: string[], env: Record<string, string> = { DATA_DIR: t.dataDir }): Promise<Run> {
  const clean = { ...process.env };
  for (const k of ['CONTROL_URL', 'CONTROL_TOKEN', 'CONTROL_PORT', 'DATA_DIR']) delete clean[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/receipt.js', ...args], { env: { ...clean, NO_COLOR: '1', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

interface TargetView {
  id: string;
  state: string;
  reason: string;
  process: string;
  pid: number | null;
  url: string;
  version?: string;
  former_names: string[];
}
const targets = async () => (await t.control('GET', '/targets')).json() as TargetView[];
const byId = async (id: string) => (await targets()).find((x) => x.id === id);
/** The row of `receipt targets`'s table that starts with `id`. */
const row = (table: string, id: string) => table.split('\n').find((l) => l.startsWith(id + ' ')) ?? '';

describe('receipt targets | kill | start | drain, with only DATA_DIR', () => {
  it('the system wrote its control file: the control plane, its token, its pid; the owner alone reads it', () => {
    const file = path.join(t.dataDir, 'control.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(doc.url, t.system.controlUrl);
    assert.equal(doc.token, t.system.controlToken);
    assert.equal(doc.pid, process.pid);
  });

  it('`receipt targets`: the table of every target, as GET /targets has them; --json is that list', async () => {
    await eventually(async () => (await targets()).every((x) => x.state === 'healthy'), 10_000, 'healthy targets');
    const r = await receipt(['targets']);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /\x1b\[/, 'NO_COLOR: no escape codes'); // eslint-disable-line no-control-regex
    assert.match(r.out.split('\n')[0]!, /^TARGET\s+ADDRESS\s+GROUP\s+STATE\s+REASON\s+IN FLIGHT\s+PROCESS\s+VERSION\s+LAST CHECK$/);
    for (const x of await targets()) {
      assert.match(row(r.out, x.id), new RegExp(`^${x.id}\\s+${x.url.slice(7)}\\s+shop\\s+healthy\\s+Target\\.Healthy\\s+\\d+\\s+running, pid ${x.pid}\\s+v1\\s+200$`), r.out);
    }
    const json = await receipt(['targets', '--json']);
    assert.deepEqual((JSON.parse(json.out) as TargetView[]).map((x) => x.id).sort(), ['shop-1', 'shop-2']);
  });

  it('`receipt kill shop-1`: the process stops, the gateway marks it unhealthy and sends to shop-2; `receipt start shop-1` brings it back', async () => {
    const killed = await receipt(['kill', 'shop-1']);
    assert.equal(killed.code, 0, killed.err);
    assert.match(killed.out, /^shop-1: killed/);
    await eventually(async () => (await byId('shop-1'))?.state === 'unhealthy', 5000, 'the gateway to mark shop-1 unhealthy');
    const table = (await receipt(['targets'])).out;
    assert.match(row(table, 'shop-1'), /\sunhealthy\s+Target\.FailedHealthChecks\s+0\s+stopped\s/);
    assert.match(row(table, 'shop-2'), /\shealthy\s/);
    for (let i = 0; i < 4; i++) assert.equal((await t.call('GET', '/products/42')).statusCode, 200, 'shop-2 answers meanwhile');

    const started = await receipt(['start', 'shop-1']);
    assert.equal(started.code, 0, started.err);
    assert.match(started.out, /^shop-1: started/);
    await eventually(async () => (await byId('shop-1'))?.state === 'healthy', 10_000, 'shop-1 healthy again');
    assert.match(row((await receipt(['targets'])).out, 'shop-1'), /\shealthy\s+Target\.Healthy\s+\d+\s+running, pid \d+\s/);
  });

  it('`receipt drain shop-2`: out of rotation (draining, then unused) with its process running; `receipt start shop-2` registers it again', async () => {
    const r = await receipt(['drain', 'shop-2']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^shop-2: draining/);
    const now = await byId('shop-2');
    assert.ok(now && ['draining', 'unused'].includes(now.state) && now.process === 'running', JSON.stringify(now));
    await eventually(async () => (await byId('shop-2'))?.state === 'unused', 5000, 'the drain to end');
    assert.equal((await receipt(['start', 'shop-2'])).code, 0);
    await eventually(async () => (await byId('shop-2'))?.state === 'healthy', 10_000, 'shop-2 back in rotation');
  });

  it('a name that is no target: exit 1, one line that says which names there are', async () => {
    const r = await receipt(['kill', 'shop-99']);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^receipt kill: 404 — No target process shop-99; the targets are shop-1, shop-2\.$/m);
  });
});

describe('receipt faults', () => {
  const faults = async () => (await t.control('GET', '/faults')).json() as Record<string, unknown>;

  it('`set KEY=VALUE…` puts typed values in the fault document; `receipt faults` shows them; `clear` empties it', async () => {
    const set = await receipt(['faults', 'set', 'payment_latency_ms=250', 'payment_failure_rate=0.5', 'maintenance=false']);
    assert.equal(set.code, 0, set.err);
    const doc = await faults();
    assert.equal(doc.payment_latency_ms, 250);
    assert.equal(doc.payment_failure_rate, 0.5);
    assert.equal(doc.maintenance, false);
    const shown = await receipt(['faults']);
    assert.match(shown.out, /^payment_latency_ms\s+250$/m);
    assert.match(shown.out, /^payment_failure_rate\s+0\.5$/m);
    assert.match(shown.out, /^payment breakers\s+shop-1 closed · shop-2 closed$/m);
    assert.equal(JSON.parse((await receipt(['faults', '--json'])).out).payment_latency_ms, 250);

    // A fault that shows in the shop's answers: maintenance mode.
    assert.equal((await receipt(['faults', 'set', 'maintenance=true'])).code, 0);
    assert.equal((await t.call('GET', '/products/42')).statusCode, 503);

    const cleared = await receipt(['faults', 'clear']);
    assert.equal(cleared.code, 0, cleared.err);
    assert.deepEqual(Object.keys(await faults()), ['payment_breaker']);
    assert.equal((await t.call('GET', '/products/42')).statusCode, 200);
    assert.match((await receipt(['faults'])).out, /^no faults in force/);
  });

  it('an unknown key or a bad value: exit 1, the keys listed, nothing sent', async () => {
    const unknown = await receipt(['faults', 'set', 'db_pool=true']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^receipt faults set: unknown fault "db_pool"; the keys: payment_latency_ms \(integer 0–600000\), .*db_pool_exhausted \(true\|false\)/);
    const bad = await receipt(['faults', 'set', 'db_pool_exhausted=true', 'payment_failure_rate=2']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /payment_failure_rate takes number 0–1, not "2"/);
    assert.deepEqual(Object.keys(await faults()), ['payment_breaker'], 'not even the good half was set');
  });
});

describe('deployments: POST /deploy with no body, and the names a user saw', () => {
  const follow = async (location: string) => {
    let d: { status: string; replaced: Array<{ from: string; to: string }> } | undefined;
    await eventually(async () => {
      d = (await t.control('GET', location)).json();
      return d!.status === 'succeeded' || d!.status === 'rolled_back';
    }, 90_000, 'the deployment to finish');
    return d!;
  };

  it('no body at all starts one with defaults; `{}` is a valid body too (409 only because one runs); wrong types are a 400 problem', async () => {
    const started = await t.control('POST', '/deploy');
    assert.equal(started.statusCode, 202, started.body);
    assert.match(started.json().version, /^v[0-9a-z]+$/);
    const empty = await t.control('POST', '/deploy', {});
    assert.equal(empty.statusCode, 409, empty.body);
    const wrong = await t.control('POST', '/deploy', { healthy: 'yes' });
    assert.equal(wrong.statusCode, 400);
    assert.match(String(wrong.headers['content-type']), /^application\/problem\+json/);
    const notAnObject = await t.control('POST', '/deploy', ['v2']);
    assert.equal(notAnObject.statusCode, 400);
    assert.equal((await follow(String(started.headers.location))).status, 'succeeded');
  });

  it('`receipt deploy` then `receipt kill shop-1`: the name leads to the target that replaced it', async () => {
    const deployed = await receipt(['deploy']);
    assert.equal(deployed.code, 0, deployed.err);
    assert.match(deployed.err, /^deployed v/m);
    assert.match(deployed.err, /the targets now: shop-\d+ \(was shop-\d+, shop-1\), shop-\d+ \(was shop-\d+, shop-2\); the old names still work/);
    const now = await targets();
    assert.ok(!now.some((x) => x.id === 'shop-1'), 'shop-1 itself is gone');
    const successor = now.find((x) => x.former_names.includes('shop-1'))!;
    assert.ok(successor, JSON.stringify(now));
    assert.match(row((await receipt(['targets'])).out, successor.id), new RegExp(`^${successor.id} \\(was [^)]*shop-1[^)]*\\)\\s`));

    const killed = await receipt(['kill', 'shop-1']);
    assert.equal(killed.code, 0, killed.err);
    assert.match(killed.out, new RegExp(`^shop-1 was replaced by ${successor.id} in a deployment`));
    await eventually(async () => (await byId(successor.id))?.state === 'unhealthy', 5000, `${successor.id} unhealthy`);
    assert.equal((await byId(successor.id))?.process, 'stopped');
    // The control plane's own route follows the same rule.
    const started = await t.control('POST', '/targets/shop-1/start');
    assert.equal(started.statusCode, 200);
    assert.equal(started.json().id, successor.id);
    await eventually(async () => (await byId(successor.id))?.state === 'healthy', 10_000, `${successor.id} healthy again`);
    // A fault that names a target follows the same rule.
    assert.equal((await receipt(['faults', 'set', 'malformed_target=shop-1'])).code, 0);
    assert.equal((await t.control('GET', '/faults')).json().malformed_target, successor.id);
    assert.equal((await receipt(['faults', 'clear'])).code, 0);
  });
});

describe('finding the system, or not', () => {
  it('an empty DATA_DIR: exit 1, one line saying where it looked and how to start one', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-none-'));
    try {
      const r = await receipt(['targets'], { DATA_DIR: empty });
      assert.equal(r.code, 1);
      assert.equal(r.err.trim().split('\n').length, 1);
      assert.ok(r.err.includes(`no running system found: no control.json in ${empty}`), r.err);
      assert.match(r.err, /receipt start/);
      fs.writeFileSync(path.join(empty, 'control.json'), JSON.stringify({ url: 'http://127.0.0.1:9', token: 'x', pid: spawnSync(process.execPath, ['-e', '']).pid }));
      assert.match((await receipt(['kill', 'shop-1'], { DATA_DIR: empty })).err, /^receipt kill: no running system: .*control\.json is stale: the process that wrote it \(pid \d+\) is gone/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('every command has --help', async () => {
    for (const args of [['targets'], ['kill'], ['drain'], ['faults'], ['faults', 'set'], ['faults', 'clear'], ['deploy']]) {
      const r = await receipt([...args, '--help']);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.out, /--data-dir/);
    }
    assert.match((await receipt(['start', '--help'])).out, /receipt start TARGET` starts one stopped target/);
  });

  it('`receipt gateway` writes the file too: targets and drain work, kill and faults say why not; a clean stop removes it', async () => {
    const server = http.createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-gw-'));
    const clean = { ...process.env };
    delete clean.CONTROL_TOKEN;
    const gw = spawn(process.execPath, ['bin/receipt.js', 'gateway', '--target', `api=127.0.0.1:${port}`, '--port', '0', '--control-port', '0', '--data-dir', dir], {
      env: { ...clean, NO_COLOR: '1' },
    });
    try {
      let out = '';
      gw.stdout.on('data', (d) => (out += d));
      await eventually(async () => /Receipt gateway is up/.test(out), 30_000, 'the gateway banner');
      const id = `127.0.0.1:${port}`;
      const list = await receipt(['targets'], { DATA_DIR: dir });
      assert.equal(list.code, 0, list.err);
      assert.match(row(list.out, id), /\sapi\s+(initial|healthy)\s.*\sexternal\s/);
      const kill = await receipt(['kill', id], { DATA_DIR: dir });
      assert.equal(kill.code, 1);
      assert.match(kill.err, /not a process this system runs: it can be drained and started \(registered\) again, not killed/);
      assert.match((await receipt(['faults'], { DATA_DIR: dir })).err, /^receipt faults: 404 — this system has no fault document/);
      assert.equal((await receipt(['drain', id], { DATA_DIR: dir })).code, 0);
      assert.match(row((await receipt(['targets'], { DATA_DIR: dir })).out, id), /\s(draining|unused)\s/);
      assert.equal((await receipt(['start', id], { DATA_DIR: dir })).code, 0);
      assert.match(row((await receipt(['targets'], { DATA_DIR: dir })).out, id), /\s(initial|healthy)\s/);

      const exited = new Promise((r) => gw.once('exit', r));
      gw.kill('SIGTERM');
      await exited;
      assert.ok(!fs.existsSync(path.join(dir, 'control.json')), 'removed on a clean stop');
      assert.match((await receipt(['targets'], { DATA_DIR: dir })).err, /no running system found/);
    } finally {
      gw.kill('SIGKILL');
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
