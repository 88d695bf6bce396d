/** `receipt gateway …` in a child process: resolved when it exits, or as soon as its stdout matches `until`. */
import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve('bin/receipt.js');

export function runGatewayCommand(args: string[], until?: RegExp) {
  return new Promise<{ code: number | null; out: string; err: string; kill: () => void }>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'gateway', ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    const done = (code: number | null) => resolve({ code, out, err, kill: () => child.kill('SIGTERM') });
    child.stdout.on('data', (d) => {
      out += d;
      if (until?.test(out)) done(null);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => done(code));
  });
}
