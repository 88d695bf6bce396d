/**
 * `npm run bench`: the shop target's speed on one indexed PostgreSQL read (GET /products/42), against a reference
 * measured in the same run — a bare node:http server answering the same bytes — reported as a ratio, with p50/p99
 * and the target's CPU per request. Loopback only; bounded in time.
 *
 *   npm run bench [-- --seconds 5 --connections 16]
 */
import http from 'node:http';
import { loadConfig } from '../src/config.ts';
import { startSystem } from '../src/system/launch.ts';
import { cpuSeconds, load, type LoadResult } from './load.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench [-- --seconds N --connections N]

Starts the system (embedded PostgreSQL unless DATABASE_URL) on free ports, then loads GET /products/42 on the shop
target and on a bare node:http reference server, interleaved, and prints req/s, p50/p99 and the ratio.
Defaults: --seconds 5, --connections 16.`);
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
const seconds = Math.min(opt('seconds', 5), 60);
const connections = Math.min(opt('connections', 16), 256);
const say = (s: string) => console.error(`… ${s}`);

const dataDir = process.env.DATA_DIR ?? './.receipt/bench';
say('starting the system');
const system = await startSystem(loadConfig({ ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), { progress: say });
try {
  const shop = system.shopUrl;
  const sample = await fetch(`${shop}/products/42`);
  const bytes = await sample.text();
  const etag = sample.headers.get('etag')!;
  const ref = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', etag, 'content-length': Buffer.byteLength(bytes) });
    res.end(bytes);
  });
  await new Promise<void>((r) => ref.listen(0, '127.0.0.1', r));
  const refUrl = `http://127.0.0.1:${(ref.address() as { port: number }).port}`;

  say(`warming up`);
  await load(shop, '/products/42', { seconds: 1, connections });
  await load(refUrl, '/products/42', { seconds: 1, connections });

  const runs: Array<{ shop: LoadResult; ref: LoadResult; cpuPerReqUs: number }> = [];
  for (let i = 1; i <= 3; i++) {
    say(`round ${i}/3: shop ${seconds}s, reference ${seconds}s (${connections} connections)`);
    const pid = system.targets[0]!.pid!;
    const cpu0 = cpuSeconds(pid);
    const s = await load(shop, '/products/42', { seconds, connections });
    const cpu = cpuSeconds(pid) - cpu0;
    const r = await load(refUrl, '/products/42', { seconds, connections });
    runs.push({ shop: s, ref: r, cpuPerReqUs: (cpu / s.requests) * 1e6 });
  }
  ref.close();
  const median = <T>(xs: T[], f: (x: T) => number) => xs.map(f).sort((a, b) => a - b)[1]!;
  const shopRps = median(runs, (r) => r.shop.rps);
  const refRps = median(runs, (r) => r.ref.rps);
  const row = (name: string, rps: number, p50: number, p99: number, extra: string) =>
    `${name.padEnd(34)} ${rps.toFixed(0).padStart(8)} req/s   p50 ${p50.toFixed(2).padStart(6)} ms   p99 ${p99.toFixed(2).padStart(6)} ms   ${extra}`;
  console.log(`\nGET /products/42 — median of 3 interleaved ${seconds}s rounds, ${connections} connections, loopback`);
  console.log(row('reference: bare node:http', refRps, median(runs, (r) => r.ref.p50ms), median(runs, (r) => r.ref.p99ms), '1.00×'));
  console.log(
    row(
      'shop target (Fastify + PostgreSQL)',
      shopRps,
      median(runs, (r) => r.shop.p50ms),
      median(runs, (r) => r.shop.p99ms),
      `${(shopRps / refRps).toFixed(2)}×   ${median(runs, (r) => r.cpuPerReqUs).toFixed(0)} µs CPU/request (target process)`,
    ),
  );
  const errors = runs.reduce((n, r) => n + r.shop.errors + r.ref.errors, 0);
  if (errors) {
    console.error(`${errors} requests failed`);
    process.exitCode = 1;
  }
} finally {
  await system.stop();
}
