/**
 * `npm start` runs JavaScript in every process it starts — the launcher (gateway and control plane), the payment
 * sandbox and each shop target — not TypeScript through tsx, which would transform every module at load and run
 * the code with its wrappers on every request. Checked as a user would, with what `ps` shows: each process's
 * command line and NODE_OPTIONS (no tsx, a .js entry), and no esbuild service among them (tsx starts one in every
 * process it runs in, to do its transforms).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { testDatabase, type TestDb } from '../support/db.ts';

const TOKEN = 'compiled-processes-token';
let db: TestDb;
let dataDir: string;
let npm: ChildProcess;
let gatewayUrl: string;
let controlUrl: string;

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
  nodeOptions: string;
}

function proc(pid: number): Proc | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const nodeOptions = env.find((e) => e.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length) ?? '';
    return { pid, ppid, argv, nodeOptions };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every process below `root`, as `ps --forest` would list them. */
function descendants(root: number): Proc[] {
  const all = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => proc(Number(d)))
    .filter((p): p is Proc => p !== undefined);
  const found: Proc[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** The script a node command line runs: its first argument that is not an option (nor an option's value). */
function script(argv: string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '--import' || argv[i] === '--require' || argv[i] === '-r' || argv[i] === '--loader') i++;
    else if (!argv[i]!.startsWith('-')) return argv[i];
  }
  return undefined;
}

before(async () => {
  db = await testDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-compiled-'));
  const [port, controlPort] = [await freePort(), await freePort()];
  gatewayUrl = `http://127.0.0.1:${port}`;
  controlUrl = `http://127.0.0.1:${controlPort}`;
  // Its own process group, so npm, its shell and everything below are stopped together.
  npm = spawn('npm', ['start', '--silent'], {
    detached: true,
    env: { ...process.env, NO_COLOR: '1', DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: String(port), HTTPS_PORT: '0', CONTROL_PORT: String(controlPort), TARGETS: '2', CONTROL_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  npm.stderr!.on('data', (d) => (err += d));
  const exited = new Promise((r) => npm.once('exit', r));
  // Up when the control plane answers: it starts after the targets and the gateway.
  for (const end = Date.now() + 90_000; ; ) {
    const up = await fetch(`${controlUrl}/targets`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.ok, () => false);
    if (up) break;
    if (npm.exitCode !== null || Date.now() > end) throw new Error(`npm start not up (exit ${npm.exitCode}): ${err.slice(-800)}`);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 200))]);
  }
});

after(async () => {
  if (npm?.pid && npm.exitCode === null) {
    const exited = new Promise((r) => npm.once('exit', r));
    process.kill(-npm.pid, 'SIGTERM');
    await exited;
  }
  // The launcher stops its targets and sandbox before it exits; then the database can go.
  for (let i = 0; i < 200 && descendants(npm.pid!).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start: every process it starts runs JavaScript, none through tsx', () => {
  it('the launcher, the payment sandbox and both shop targets: .js entries, no tsx, no esbuild service', async () => {
    // A request through the gateway first: whatever a transform would do per request has had its chance.
    const product = await fetch(`${gatewayUrl}/products/42`);
    assert.equal(product.status, 200);
    await product.arrayBuffer();

    // The launcher is the parent of the targets the control plane reports; its children are those and the sandbox.
    const targets = (await (await fetch(`${controlUrl}/targets`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Array<{ id: string; pid: number }>;
    assert.equal(targets.length, 2);
    const tree = descendants(npm.pid!);
    const launcher = tree.find((p) => p.pid === tree.find((t) => t.pid === targets[0]!.pid)?.ppid);
    assert.ok(launcher, `the targets are not below npm start: ${tree.map((p) => `${p.pid} ${p.ppid} ${p.argv.join(' ')}`).join('\n')}`);
    const children = tree.filter((p) => p.ppid === launcher.pid && (p.argv[0] === process.execPath || path.basename(p.argv[0]!) === 'node'));
    assert.deepEqual(children.filter((p) => targets.some((t) => t.pid === p.pid)).length, 2);
    const entries = children.map((p) => script(p.argv) ?? '').sort();
    assert.equal(entries.length, 3, entries.join('\n'));
    assert.match(entries[0]!, /\/payment-sandbox\/server\.[jt]s$/);
    assert.match(entries[1]!, /\/shop\/server\.[jt]s$/);
    assert.match(entries[2]!, /\/shop\/server\.[jt]s$/);

    for (const p of [launcher, ...children]) {
      assert.ok(!p.argv.some((a) => /tsx/.test(a)), `${p.pid} runs through tsx: ${p.argv.join(' ')}`);
      assert.ok(!/tsx/.test(p.nodeOptions), `${p.pid} has tsx in NODE_OPTIONS: ${p.nodeOptions}`);
      assert.match(script(p.argv)!, /\.js$/, p.argv.join(' '));
    }
    const esbuild = tree.filter((p) => p.argv.some((a) => /esbuild/.test(a)));
    assert.deepEqual(esbuild.map((p) => p.argv.join(' ')), [], 'an esbuild service runs below npm start: something transforms TypeScript at run time');
  });
});
