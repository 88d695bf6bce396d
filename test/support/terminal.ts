/**
 * A command run as a person runs it: under a pseudo-terminal (util-linux `script`, so the program's stdout is a
 * TTY), or with stdout piped, as a process manager or `| tee` runs it. The output is read as it comes; `stop` presses
 * Ctrl-C on the terminal (the terminal sends SIGINT to the program, as it would for a person) or sends SIGINT to a pipe's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve('bin/receipt.js');

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

export interface Session {
  /** Everything written so far, as the terminal received it (escape codes and all, `\r\n` as `\n`). */
  raw(): string;
  /** The same without colour codes: what a person reads. */
  text(): string;
  /** Waits until the text matches (the match, on the text), or fails after `ms` with what was printed. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `receipt ARGS…` with stdout a terminal (`tty: true`) or a pipe. */
export function receipt(args: string[], env: Record<string, string | undefined>, o: { tty: boolean }): Session {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const child: ChildProcess = o.tty
    ? // -q no banner of script's own, -f flush as written, -e its exit code, -c the command; no typescript file.
      spawn('script', ['-qfec', `exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`, '/dev/null'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, [BIN, ...args], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString().replace(/\r\n/g, '\n');
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });
  const text = () => out.replace(SGR, '');
  return {
    raw: () => out,
    text,
    waitFor(re, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = text().match(re);
          if (m || done) {
            waiters.delete(check);
            clearTimeout(timer);
            if (m) resolve(m);
            else reject(new Error(`exited before ${re} was printed:\n${text().slice(-3000)}\n${err.slice(-1000)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${re} not printed within ${ms} ms:\n${text().slice(-3000)}\n${err.slice(-1000)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (!done) {
        if (o.tty) child.stdin!.write('\x03');
        else child.kill('SIGINT');
      }
      const limit = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(limit);
      return code;
    },
  };
}
