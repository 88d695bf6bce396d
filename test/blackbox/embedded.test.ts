/**
 * The embedded default (`npm start` with no DATABASE_URL): a real PostgreSQL server the system starts and stops
 * itself, data kept in DATA_DIR across restarts, and failures that say what to do.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { startSystem } from '../../src/system/launch.ts';

const made: string[] = [];
function tmpDir(mode = 0o755): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-emb-'));
  fs.chmodSync(d, mode);
  made.push(d);
  return d;
}
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

const postgresRunningIn = (dir: string) => {
  try {
    return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').some((l) => l.includes(`-D ${dir}`));
  } catch {
    return false;
  }
};

describe('the embedded PostgreSQL default', () => {
  it('starts the whole system with no database server of yours, keeps data across a restart, stops the server', async () => {
    const dataDir = path.join(tmpDir(), 'data');
    const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', HTTPS_PORT: '0', CONTROL_PORT: '0', TARGETS: '1', LOG_LEVEL: 'warn' });
    let system = await startSystem(config);
    try {
      const token = JSON.parse(
        await (await request(`${system.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice","password":"alice-pass"}' })).body.text(),
      ).access_token;
      const created = await request(`${system.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ product_id: 42, quantity: 1, payment_token: 'tok', reference: 'persist-me' }),
      });
      assert.equal(created.statusCode, 201);
      await created.body.dump();
      assert.ok(system.database.embedded);
    } finally {
      await system.stop();
    }
    assert.equal(postgresRunningIn(path.join(dataDir, 'pg')), false, 'the embedded server stopped with the system');

    system = await startSystem(config);
    try {
      const token = JSON.parse(
        await (await request(`${system.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice","password":"alice-pass"}' })).body.text(),
      ).access_token;
      const found = await request(`${system.url}/orders?reference=persist-me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(JSON.parse(await found.body.text()).length, 1, 'the order survived the restart');
    } finally {
      await system.stop();
    }
  });

  it('a stale postmaster.pid (its process gone) is cleared; a live one is named', async () => {
    const dataDir = path.join(tmpDir(), 'data');
    const first = await startEmbeddedPostgres(dataDir);
    await first.stop();
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    fs.writeFileSync(pidFile, '999999\n/nowhere\n');
    const second = await startEmbeddedPostgres(dataDir);
    await second.stop();
    fs.writeFileSync(pidFile, `${process.pid}\n/nowhere\n`);
    await assert.rejects(startEmbeddedPostgres(dataDir), /Another PostgreSQL server \(pid \d+\) is already using .*Fix:/);
    fs.rmSync(pidFile);
  });

  it('a DATA_DIR the postgres user cannot reach: a message that says so and how to fix it', { skip: process.getuid?.() !== 0 ? 'only root runs the server as another user' : false }, async () => {
    const locked = tmpDir(0o700);
    await assert.rejects(startEmbeddedPostgres(path.join(locked, 'data')), /cannot enter .*chmod 755/);
  });
});

describe('the receipt command', () => {
  const bin = path.resolve('bin/receipt.js');
  const run = (args: string[], env: Record<string, string> = {}) => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, stdio: 'pipe' }) };
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      return { code: err.status, out: err.stdout + err.stderr };
    }
  };

  it('--help on the command and on start, exit 0, no colour codes under NO_COLOR', () => {
    const top = run(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.out, /start/);
    const start = run(['start', '--help']);
    assert.equal(start.code, 0);
    assert.match(start.out, /--port/);
    assert.ok(!(top.out + start.out).includes("\u001b["), "no ANSI escape codes");
  });

  it('scenarios and chaos have --help; a bad argument exits non-zero with a one-line message', () => {
    for (const cmd of ['scenarios', 'chaos']) {
      const help = run([cmd, '--help']);
      assert.equal(help.code, 0, cmd);
      assert.match(help.out, /--json/);
    }
    const bad = run(['chaos', '--orders', '0']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /^receipt: --orders must be an integer from 1 to 10000\s*$/);
    const noToken = run(['scenarios', '--url', 'http://127.0.0.1:1'], { CONTROL_TOKEN: '' });
    assert.notEqual(noToken.code, 0);
    assert.match(noToken.out, /--control-token/);
  });

  it('a bad setting or an unknown command exits non-zero with a message', () => {
    const bad = run(['start'], { PORT: 'eighty' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /PORT must be an integer/);
    // A flag wins over its variable: the valid PORT is overridden by the bad --port.
    const badFlag = run(['start', '--port', 'ninety'], { PORT: '0' });
    assert.notEqual(badFlag.code, 0);
    assert.match(badFlag.out, /PORT must be an integer.*ninety|ninety.*PORT/s);
    assert.notEqual(run(['frobnicate']).code, 0);
  });
});
