/**
 * The parent side: runs one service (a shop target, the payment sandbox) as its own Node process, so that a
 * `kill` is a real crash with real reset connections, and each has its own connection pool.
 */
import { fork, type ChildProcess } from 'node:child_process';

export class ServiceStartError extends Error {
  override name = 'ServiceStartError';
}

export interface ServiceSpec {
  name: string;
  /** Absolute path of the entry: JavaScript, or TypeScript when the launcher itself runs as TypeScript (tests). */
  entry: string;
  env: Record<string, string | undefined>;
  /** How long a start may take before it counts as failed. */
  startTimeoutMs?: number;
  /** Receives each stdout line (the JSON logs) instead of passing them to our stdout. */
  onLog?: (line: string) => void;
}

export class Service {
  readonly spec: ServiceSpec;
  #child: ChildProcess | undefined;
  #port: number | undefined;
  #stderr = '';

  constructor(spec: ServiceSpec) {
    this.spec = spec;
  }

  get port(): number | undefined {
    return this.#port;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<number> {
    if (this.running) return this.#port!;
    this.#stderr = '';
    const child = fork(this.spec.entry, [], {
      // JavaScript runs as it is; a TypeScript entry (only under the tests' in-process harness) through tsx.
      execArgv: this.spec.entry.endsWith('.ts') ? ['--import', 'tsx'] : [],
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', this.spec.onLog ? 'pipe' : 'inherit', 'pipe', 'ipc'],
    });
    this.#child = child;
    if (this.spec.onLog && child.stdout) {
      const onLog = this.spec.onLog;
      let rest = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop()!;
        for (const line of lines) if (line) onLog(line);
      });
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new ServiceStartError(`${this.spec.name} did not start within ${this.spec.startTimeoutMs ?? 30_000} ms`));
      }, this.spec.startTimeoutMs ?? 30_000);
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m?.type === 'ready' && typeof m.port === 'number') {
          clearTimeout(timer);
          resolve(m.port);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new ServiceStartError(`${this.spec.name} exited during start (${signal ?? `code ${code}`}): ${this.#stderr.trim().slice(-800) || 'no output'}`));
      });
    });
    this.#port = port;
    return port;
  }

  /** Graceful: SIGTERM lets in-flight requests finish; SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Abrupt: SIGKILL, as a crashed instance — open connections reset, new ones refused. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }
}
