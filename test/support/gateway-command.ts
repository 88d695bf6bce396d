/**
 * `receipt gateway …` in a child process: resolved when it exits, or as soon as its stdout matches `until`. `env`
 * changes the child's environment only (a value of undefined removes the variable).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve('bin/receipt.js');

export function runGatewayCommand(args: string[], until?: RegExp, env: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number | null; out: string; err: string; kill: () => void }>((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
    const child = spawn(process.execPath, [BIN, 'gateway', ...args], { env: childEnv });
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
