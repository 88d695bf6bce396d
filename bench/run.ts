/**
 * `npm run bench`: the gateway against a direct connection to the same shop target, in the same run, on one indexed
 * PostgreSQL read (GET /products/42) — req/s, p50/p99, the ratio, and CPU per request of the gateway process and of
 * the target (from /proc). A bare node:http server answering the same bytes is the ceiling of this machine's loopback.
 * The system runs as its own process (`receipt start`), so the load generator's CPU is not counted as the gateway's.
 * Loopback only; bounded in time.
 *
 * Then memory: 20 clients download the 50 MiB video through the gateway at once, while the resident memory of the
 * gateway's and the target's processes is sampled; streaming means it stays flat (a copy per client would be 1 GiB).
 *
 *   npm run bench [-- --seconds 5 --connections 16 --only gateway|downloads]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort } from '../src/db/embedded.ts';
import { cpuSeconds, load, type LoadResult } from './load.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench [-- --seconds N --connections N]

Starts \`receipt start\` (embedded PostgreSQL unless DATABASE_URL, one target) on free ports, then loads
GET /products/42 through the gateway, directly on the target, and on a bare node:http reference, interleaved
(3 rounds), and prints req/s, p50/p99, ratios and CPU per request. Then 20 concurrent downloads of the 50 MiB
video through the gateway, with the peak resident memory of the gateway and target processes.
Defaults: --seconds 5, --connections 16; --only gateway or --only downloads runs one part.`);
  process.exit(0);
}
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : d;
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} needs a positive number`);
    process.exit(2);
  }
  return v;
};
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
if (only !== undefined && only !== 'gateway' && only !== 'downloads') {
  console.error('--only takes gateway or downloads');
  process.exit(2);
}
const seconds = Math.min(opt('seconds', 5), 60);
const connections = Math.min(opt('connections', 16), 256);
const say = (s: string) => console.error(`… ${s}`);

const [port, httpsPort, controlPort] = [await freePort(), await freePort(), await freePort()];
const token = 'bench-token';
say('starting the system (receipt start, 1 target)');
const child = spawn(process.execPath, [path.resolve('bin/receipt.js'), 'start'], {
  env: {
    ...process.env,
    PORT: String(port),
    HTTPS_PORT: String(httpsPort),
    CONTROL_PORT: String(controlPort),
    CONTROL_TOKEN: token,
    TARGETS: '1',
    LOG_LEVEL: 'warn',
    NO_COLOR: '1',
    DATA_DIR: process.env.DATA_DIR ?? path.resolve('.receipt/bench'),
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const stopChild = () =>
  new Promise<void>((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
try {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Receipt is up')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`receipt start exited (${code})`)));
    setTimeout(() => reject(new Error('receipt start did not come up in 60 s')), 60_000);
  });
  const control = `http://127.0.0.1:${controlPort}`;
  const targets = (await (await fetch(`${control}/targets`, { headers: { authorization: `Bearer ${token}` } })).json()) as Array<{ url: string; pid: number }>;
  const target = targets[0]!;
  const gateway = `http://127.0.0.1:${port}`;
  const direct = target.url;

  if (only !== 'downloads') await gatewayBench(gateway, direct, target.pid);
  if (only !== 'gateway') await downloadsBench(gateway, target.pid);
} finally {
  await stopChild();
}

async function gatewayBench(gateway: string, direct: string, targetPid: number): Promise<void> {
  const target = { pid: targetPid };
  const sample = await fetch(`${direct}/products/42`);
  const bytes = await sample.text();
  const ref = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(bytes) });
    res.end(bytes);
  });
  await new Promise<void>((r) => ref.listen(0, '127.0.0.1', r));
  const reference = `http://127.0.0.1:${(ref.address() as { port: number }).port}`;

  say('warming up');
  for (const u of [gateway, direct, reference]) await load(u, '/products/42', { seconds: 1, connections });

  type Round = { gateway: LoadResult; direct: LoadResult; reference: LoadResult; gatewayCpuUs: number; targetCpuUs: number; targetViaGatewayCpuUs: number };
  const rounds: Round[] = [];
  for (let i = 1; i <= 3; i++) {
    say(`round ${i}/3: gateway, direct, reference — ${seconds}s each, ${connections} connections`);
    const [g0, t0] = [cpuSeconds(child.pid!), cpuSeconds(target.pid)];
    const g = await load(gateway, '/products/42', { seconds, connections });
    const [g1, t1] = [cpuSeconds(child.pid!), cpuSeconds(target.pid)];
    const d = await load(direct, '/products/42', { seconds, connections });
    const t2 = cpuSeconds(target.pid);
    const r = await load(reference, '/products/42', { seconds, connections });
    rounds.push({
      gateway: g,
      direct: d,
      reference: r,
      gatewayCpuUs: ((g1 - g0) / g.requests) * 1e6,
      targetViaGatewayCpuUs: ((t1 - t0) / g.requests) * 1e6,
      targetCpuUs: ((t2 - t1) / d.requests) * 1e6,
    });
  }
  ref.close();
  const med = (f: (r: Round) => number) => rounds.map(f).sort((a, b) => a - b)[1]!;
  const directRps = med((r) => r.direct.rps);
  const row = (name: string, rps: number, p50: number, p99: number, extra: string) =>
    `${name.padEnd(28)} ${rps.toFixed(0).padStart(7)} req/s  p50 ${p50.toFixed(2).padStart(6)} ms  p99 ${p99.toFixed(2).padStart(6)} ms  ${extra}`;
  console.log(`\nGET /products/42 — median of 3 interleaved ${seconds}s rounds, ${connections} connections, loopback, 2 cores shared`);
  console.log(row('direct to the target', directRps, med((r) => r.direct.p50ms), med((r) => r.direct.p99ms), `1.00×   target ${med((r) => r.targetCpuUs).toFixed(0)} µs CPU/req`));
  console.log(
    row(
      'through the gateway',
      med((r) => r.gateway.rps),
      med((r) => r.gateway.p50ms),
      med((r) => r.gateway.p99ms),
      `${(med((r) => r.gateway.rps) / directRps).toFixed(2)}×   gateway ${med((r) => r.gatewayCpuUs).toFixed(0)} µs CPU/req (target ${med((r) => r.targetViaGatewayCpuUs).toFixed(0)})`,
    ),
  );
  console.log(row('reference: bare node:http', med((r) => r.reference.rps), med((r) => r.reference.p50ms), med((r) => r.reference.p99ms), `${(med((r) => r.reference.rps) / directRps).toFixed(2)}×   (loopback ceiling)`));
  const errors = rounds.reduce((n, r) => n + r.gateway.errors + r.direct.errors + r.reference.errors, 0);
  if (errors) {
    console.error(`${errors} requests failed`);
    process.exitCode = 1;
  }
}

/** Resident set size of a process, in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

async function downloadsBench(gateway: string, targetPid: number): Promise<void> {
  const CLIENTS = 20;
  say(`downloads: ${CLIENTS} clients × 50 MiB through the gateway`);
  const pids = { gateway: child.pid!, target: targetPid };
  const base = { gateway: rssMiB(pids.gateway), target: rssMiB(pids.target) };
  const peak = { ...base };
  const sampler = setInterval(() => {
    peak.gateway = Math.max(peak.gateway, rssMiB(pids.gateway));
    peak.target = Math.max(peak.target, rssMiB(pids.target));
  }, 50);
  const t0 = performance.now();
  const sizes = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const res = await fetch(`${gateway}/videos/movie.mp4`);
      let n = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
      return n;
    }),
  );
  clearInterval(sampler);
  const secs = (performance.now() - t0) / 1000;
  const total = sizes.reduce((a, b) => a + b, 0);
  const ok = sizes.every((n) => n === 52428800);
  console.log(`\n${CLIENTS} concurrent downloads of 50 MiB through the gateway: ${(total / 2 ** 20).toFixed(0)} MiB in ${secs.toFixed(1)} s${ok ? '' : ' — SOME INCOMPLETE'}`);
  console.log(`  gateway process  RSS ${base.gateway.toFixed(0)} MiB before, ${peak.gateway.toFixed(0)} MiB peak (+${(peak.gateway - base.gateway).toFixed(0)})`);
  console.log(`  target process   RSS ${base.target.toFixed(0)} MiB before, ${peak.target.toFixed(0)} MiB peak (+${(peak.target - base.target).toFixed(0)})`);
  if (!ok) process.exitCode = 1;
}
