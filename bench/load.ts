/**
 * A bounded closed-loop load generator over keep-alive connections (undici Pool), loopback only.
 * Returns req/s and latency percentiles; used by bench/run.ts.
 */
import fs from 'node:fs';
import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

export async function load(origin: string, path: string, opts: { seconds: number; connections: number; headers?: Record<string, string> }): Promise<LoadResult> {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(origin)) throw new Error(`load goes to loopback only, not ${origin}`);
  const pool = new Pool(origin, { connections: opts.connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + opts.seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ method: 'GET', path, headers: opts.headers ?? {} });
        await res.body.dump();
        if (res.statusCode >= 500) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50ms: pct(0.5), p99ms: pct(0.99) };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (Linux). */
export function cpuSeconds(pid: number, o: { reapedChildren?: boolean } = {}): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // fields[11] = utime, fields[12] = stime (0-based after the comm field), in clock ticks (100 Hz on Linux);
  // fields[13], fields[14] = cutime, cstime: the children that exited and were waited for.
  const own = Number(fields[11]) + Number(fields[12]);
  return (o.reapedChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / 100;
}
