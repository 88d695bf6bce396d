/**
 * `npm run bench`: what the request path costs, as ratios measured in one run on this machine. Loopback only;
 * bounded in time; progress on stderr, the Markdown tables on stdout.
 *
 *   proxies   the same bare target direct, behind nginx (when installed), behind a bare node:http + undici proxy,
 *             and behind the gateway (access log, metrics, rules, trace ids, health checks all on) — interleaved
 *             rounds; req/s, p50/p99 and CPU per request of each proxy process (/proc). Then the gateway's resident
 *             memory over one long run at full load.
 *   shop      GET /products/42: a bare Fastify + pg route, the shop target direct (200 and 304), and the shop through
 *             the gateway — on one embedded PostgreSQL; CPU per request of the app and of PostgreSQL. The shop as
 *             `npm start` runs it (JavaScript compiled ahead), the bare route compiled the same way; then both
 *             through tsx, for what a transform at run time costs.
 * Every server runs as JavaScript compiled the way build/ is (scripts/compile.mjs), unless a row says tsx.
 *   downloads 20 concurrent 50 MiB downloads through the gateway; peak RSS of the gateway and the target.
 *
 *   npm run bench [-- --rounds 5 --seconds 3 --connections 16 --memory-seconds 60 --only proxies,shop,downloads --write docs/performance.md]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { transpile } from '../scripts/compile.mjs';
import { nginxInstalled, startNginx, type RunningNginx } from './nginx.ts';
import { cpuSeconds, load, type LoadResult } from './load.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench [-- options]

Measures the request path on loopback and prints Markdown tables (progress goes to stderr):
  proxies    a bare target direct, behind nginx (if installed), a bare node:http + undici proxy, and the gateway
  shop       GET /products/42: bare Fastify + pg, the shop target (200 and 304), the shop through the gateway,
             then the bare route through tsx, and two more shop targets: compiled, and through tsx
  downloads  20 concurrent 50 MiB downloads through the gateway, peak RSS
  startup    receipt --help and receipt start until ready: through tsx, built (build/) and packaged (dist/)
Every server runs as JavaScript compiled the way \`npm start\` compiles src/ (esbuild, ahead of time); the rows
named tsx run the same sources through tsx.

Options:
  --rounds N          interleaved rounds per part (default 5, at least 1)
  --seconds N         seconds of load per entry per round (default 3)
  --connections N     concurrent keep-alive connections (default 16)
  --memory-seconds N  the long run at full load for the gateway's memory (default 60; 0 skips it)
  --only LIST         some of: proxies, shop, downloads, startup (comma-separated)
  --write FILE        also put the tables into FILE between its bench markers (docs/performance.md)
Exits non-zero when any request fails.`);
  process.exit(0);
}
const opt = (name: string, d: number, min = 1) => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : d;
  if (!Number.isFinite(v) || v < min) {
    console.error(`--${name} needs a number ≥ ${min}`);
    process.exit(2);
  }
  return v;
};
const rounds = Math.min(opt('rounds', 5), 20);
const seconds = Math.min(opt('seconds', 3), 60);
const connections = Math.min(opt('connections', 16), 256);
const memorySeconds = Math.min(opt('memory-seconds', 60, 0), 600);
const PARTS = ['proxies', 'shop', 'downloads', 'startup'] as const;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : [...PARTS];
if (only.some((p) => !(PARTS as readonly string[]).includes(p))) {
  console.error(`--only takes some of ${PARTS.join(', ')}`);
  process.exit(2);
}
const writeTo = args.includes('--write') ? args[args.indexOf('--write') + 1] : undefined;
const say = (s: string) => console.error(`… ${s}`);
const out: string[] = [];
const emit = (s = '') => {
  out.push(s);
  console.log(s);
};
const children: ChildProcess[] = [];
let failed = 0;

/**
 * bench/servers/ and the src/ they import, compiled as build/ is (esbuild, one file per module, imports kept), into
 * a folder of their own inside the repository (so their packages resolve from node_modules).
 */
const BENCH_BUILD = path.resolve('build.bench');
let compiled: Promise<void> | undefined;
function compileServers(): Promise<void> {
  compiled ??= (async () => {
    say('compiling bench/servers/ and src/ to build.bench/ (as `npm start` compiles src/)');
    fs.rmSync(BENCH_BUILD, { recursive: true, force: true });
    const ts = (dir: string) => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
    await transpile({ entries: [...ts('src'), ...ts('bench/servers')], outbase: '.', outdir: BENCH_BUILD });
  })();
  return compiled;
}

/** Starts one of bench/servers/ in its own process, as JavaScript or through tsx; resolves with its port and pid. */
async function server(name: string, env: Record<string, string> = {}, how: 'js' | 'tsx' = 'js'): Promise<{ port: number; pid: number; url: string }> {
  if (how === 'js') await compileServers();
  const argv = how === 'js' ? [path.join(BENCH_BUILD, `bench/servers/${name}.js`)] : ['--import', 'tsx', path.resolve(`bench/servers/${name}.ts`)];
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const m = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    child.once('message', (msg) => resolve(msg as { port: number; pid: number }));
    child.once('exit', (code) => reject(new Error(`bench/servers/${name} exited (${code})`)));
  });
  return { ...m, url: `http://127.0.0.1:${m.port}` };
}

/**
 * Another shop target beside the started one, in the same environment as its (read from /proc), compiled (build/)
 * or through tsx — what `npm start` did before it ran compiled JavaScript. Started the same way, the two differ
 * only in how their code runs.
 */
async function twinTarget(startedPid: number, how: 'js' | 'tsx'): Promise<{ url: string; pid: number }> {
  const env = Object.fromEntries(
    fs
      .readFileSync(`/proc/${startedPid}/environ`, 'utf8')
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const argv = how === 'js' ? [path.resolve('build/shop/server.js')] : ['--import', 'tsx', path.resolve('src/shop/server.ts')];
  const child = spawn(process.execPath, argv, {
    env: { ...env, PORT: '0', RECEIPT_TARGET_ID: `shop-${how}` },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m?.type === 'ready' && resolve(m.port!));
    child.once('exit', (code) => reject(new Error(`the shop target (${how}) exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid! };
}

function rssMiB(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/** Every process whose command is `name` (PostgreSQL's backends, nginx's workers). */
function pidsNamed(name: string, parent?: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return comm === name && (parent === undefined || ppid === parent);
      } catch {
        return false;
      }
    })
    .map(Number);
}
const cpuOf = (pids: number[]) => pids.reduce((n, p) => n + (fs.existsSync(`/proc/${p}`) ? cpuSeconds(p) : 0), 0);

interface Entry {
  name: string;
  url: string;
  path: string;
  headers?: Record<string, string>;
  /** CPU seconds used so far by what each column reports (read before and after each load): by column. */
  cpu: Record<string, () => number>;
}
interface Sample {
  load: LoadResult;
  cpuUs: Record<string, number>;
}

/** Interleaved rounds: each entry loaded in turn, `rounds` times; the median of each figure is reported. */
async function measure(entries: Entry[], label: string): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(entries.map((e) => [e.name, []]));
  say(`${label}: warming up`);
  for (const e of entries) await load(e.url, e.path, { seconds: 1, connections, ...(e.headers ? { headers: e.headers } : {}) });
  for (let r = 1; r <= rounds; r++) {
    say(`${label}: round ${r}/${rounds} (${entries.map((e) => e.name).join(', ')}; ${seconds} s each)`);
    for (const e of entries) {
      const before = Object.fromEntries(Object.entries(e.cpu).map(([k, f]) => [k, f()]));
      const result = await load(e.url, e.path, { seconds, connections, ...(e.headers ? { headers: e.headers } : {}) });
      failed += result.errors;
      const cpuUs = Object.fromEntries(Object.entries(e.cpu).map(([k, f]) => [k, ((f() - before[k]!) / Math.max(1, result.requests)) * 1e6]));
      samples.get(e.name)!.push({ load: result, cpuUs });
    }
  }
  return samples;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');

async function proxies(): Promise<void> {
  const target = await server('target');
  const bare = await server('bare-proxy', { TARGET_PORT: String(target.port) });
  const gateway = await server('gateway', { TARGET_PORT: String(target.port) });
  const entries: Entry[] = [{ name: 'direct to the target', url: target.url, path: '/products/42', cpu: { proxy: () => 0 } }];
  let nginxNote = '';
  let nginx: RunningNginx | undefined;
  if (nginxInstalled()) {
    nginx = await startNginx(target.port);
    const master = nginx.pid;
    entries.push({ name: 'nginx 1 worker, upstream keep-alive', url: nginx.url, path: '/products/42', cpu: { proxy: () => cpuOf(pidsNamed('nginx', master)) } });
  } else nginxNote = 'nginx is not installed (`apt-get install nginx`), so it has no row.';
  entries.push({ name: 'bare node:http + undici proxy', url: bare.url, path: '/products/42', cpu: { proxy: () => cpuOf([bare.pid]) } });
  entries.push({ name: 'the gateway (everything on)', url: gateway.url, path: '/products/42', cpu: { proxy: () => cpuOf([gateway.pid]) } });

  const samples = await measure(entries, 'proxies');
  const med = (name: string, f: (s: Sample) => number) => median(samples.get(name)!.map(f));
  const directRps = med(entries[0]!.name, (s) => s.load.rps);
  const nginxEntry = entries.find((e) => e.name.startsWith('nginx'));
  const nginxRps = nginxEntry ? med(nginxEntry.name, (s) => s.load.rps) : NaN;
  const bareCpu = med('bare node:http + undici proxy', (s) => s.cpuUs.proxy!);
  emit(`### A proxy in front of the same bare target\n`);
  emit(`GET /products/42 answered by a bare node:http target; median of ${rounds} interleaved rounds of ${seconds} s, ${connections} connections.\n`);
  emit('| in front of the target | req/s | × direct | × nginx | p50 ms | p99 ms | proxy CPU per request | × bare proxy |');
  emit('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const e of entries) {
    const rps = med(e.name, (s) => s.load.rps);
    const cpu = e.name.startsWith('direct') ? NaN : med(e.name, (s) => s.cpuUs.proxy!);
    emit(
      `| ${e.name} | ${fmt(rps)} | ${fmt(rps / directRps, 2)} | ${fmt(rps / nginxRps, 2)} | ${fmt(med(e.name, (s) => s.load.p50ms), 2)} | ${fmt(med(e.name, (s) => s.load.p99ms), 2)} | ${Number.isFinite(cpu) ? `${fmt(cpu)} µs` : '—'} | ${fmt(cpu / bareCpu, 2)} |`,
    );
  }
  if (nginxNote) emit(`\n${nginxNote}`);

  if (memorySeconds > 0) {
    say(`memory: ${memorySeconds} s at full load through the gateway`);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMiB(gateway.pid)), 1000);
    const r = await load(gateway.url, '/products/42', { seconds: memorySeconds, connections });
    clearInterval(sampler);
    failed += r.errors;
    const settled = rss.slice(Math.min(5, Math.floor(rss.length / 4)));
    emit(
      `\nGateway resident memory over ${memorySeconds} s at full load (${fmt(r.rps)} req/s): ${fmt(rss[0] ?? NaN)} MiB at the start, ` +
        `${fmt(Math.min(...settled))}–${fmt(Math.max(...settled))} MiB after the first seconds (spread ${fmt(Math.max(...settled) - Math.min(...settled))} MiB).\n`,
    );
  }
  nginx?.stop();
}

interface Running {
  gateway: string;
  target: { url: string; pid: number };
  gatewayPid: number;
  databaseUrl: string;
  /** CPU seconds the database has used: the embedded server's postmaster, its backends, the backends gone. */
  postgres: () => number;
}

/** `receipt start` (one target) on an embedded PostgreSQL the bench starts, so the bare route can share it. */
async function withSystem<T>(fn: (s: Running) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-bench-'));
  fs.chmodSync(dir, 0o755);
  say('starting PostgreSQL (embedded) and the system (receipt start, 1 target)');
  const pg = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres(path.join(dir, 'db'));
  const databaseUrl = process.env.DATABASE_URL ?? pg!.url;
  const [port, httpsPort, controlPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [path.resolve('bin/receipt.js'), 'start'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HTTPS_PORT: String(httpsPort), CONTROL_PORT: String(controlPort), CONTROL_TOKEN: 'bench-token', TARGETS: '1', LOG_LEVEL: 'warn', NO_COLOR: '1', DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('Receipt is up')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`receipt start exited (${code})`)));
      setTimeout(() => reject(new Error('receipt start did not come up in 60 s')), 60_000);
    });
    const targets = (await (await fetch(`http://127.0.0.1:${controlPort}/targets`, { headers: { authorization: 'Bearer bench-token' } })).json()) as Array<{ url: string; pid: number }>;
    // Only this server's processes (the machine may run other PostgreSQL servers), and with them the backends that
    // have exited (a pool closes idle connections): the postmaster has collected their CPU time as its children's.
    const postmaster = pg ? Number(fs.readFileSync(path.join(dir, 'db', 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]) : undefined;
    const postgres = () => (postmaster ? cpuSeconds(postmaster, { reapedChildren: true }) + cpuOf(pidsNamed('postgres', postmaster)) : cpuOf(pidsNamed('postgres')));
    return await fn({ gateway: `http://127.0.0.1:${port}`, target: targets[0]!, gatewayPid: child.pid!, databaseUrl, postgres });
  } finally {
    await new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
    await pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function shop(s: Running): Promise<void> {
  // Stopped before the database is: a pool that loses its server mid-shutdown crashes its process, noisily.
  const mark = children.length;
  try {
    await shopRows(s);
  } finally {
    await Promise.all(children.splice(mark).map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : (c.once('exit', r), c.kill('SIGTERM'))))));
  }
}

async function shopRows(s: Running): Promise<void> {
  const bare = await server('bare-shop', { DATABASE_URL: s.databaseUrl });
  const bareTsx = await server('bare-shop', { DATABASE_URL: s.databaseUrl }, 'tsx');
  const shopJs = await twinTarget(s.target.pid, 'js');
  const shopTsx = await twinTarget(s.target.pid, 'tsx');
  const etag = (await fetch(`${s.target.url}/products/42`)).headers.get('etag')!;
  const postgres = s.postgres;
  const entries: Entry[] = [
    { name: 'bare Fastify + pg route, 200', url: bare.url, path: '/products/42', cpu: { app: () => cpuOf([bare.pid]), postgres } },
    { name: 'shop target direct, 200', url: s.target.url, path: '/products/42', cpu: { app: () => cpuOf([s.target.pid]), postgres } },
    { name: 'shop target direct, 304 (If-None-Match)', url: s.target.url, path: '/products/42', headers: { 'if-none-match': etag }, cpu: { app: () => cpuOf([s.target.pid]), postgres } },
    { name: 'shop through the gateway, 200', url: s.gateway, path: '/products/42', cpu: { app: () => cpuOf([s.target.pid]), postgres, gateway: () => cpuOf([s.gatewayPid]) } },
    { name: 'tsx: bare Fastify + pg route, 200', url: bareTsx.url, path: '/products/42', cpu: { app: () => cpuOf([bareTsx.pid]), postgres } },
    { name: 'a second shop target, compiled, 200', url: shopJs.url, path: '/products/42', cpu: { app: () => cpuOf([shopJs.pid]), postgres } },
    { name: 'tsx: a second shop target, 200', url: shopTsx.url, path: '/products/42', cpu: { app: () => cpuOf([shopTsx.pid]), postgres } },
  ];
  const samples = await measure(entries, 'shop');
  const med = (name: string, f: (x: Sample) => number) => median(samples.get(name)!.map(f));
  const bareApp = med(entries[0]!.name, (x) => x.cpuUs.app!);
  const barePg = med(entries[0]!.name, (x) => x.cpuUs.postgres!);
  const directRps = med(entries[1]!.name, (x) => x.load.rps);
  emit(`\n### The shop's GET /products/42 (one indexed PostgreSQL read)\n`);
  emit(
    `Median of ${rounds} interleaved rounds of ${seconds} s, ${connections} connections; one shop target as \`npm start\` runs it (JavaScript compiled ahead), ` +
      `one PostgreSQL. The bare route runs as JavaScript compiled the same way. The second targets run beside the system in its target's environment, one compiled and ` +
      `one through tsx (as \`npm start\` ran them before), as does the tsx row of the bare route.\n`,
  );
  emit('| | req/s | × shop direct | p50 ms | p99 ms | app CPU per request | × bare route | PostgreSQL CPU per request | × bare route | gateway CPU per request |');
  emit('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const e of entries) {
    const app = med(e.name, (x) => x.cpuUs.app!);
    const pgCpu = med(e.name, (x) => x.cpuUs.postgres!);
    const gw = e.cpu.gateway ? `${fmt(med(e.name, (x) => x.cpuUs.gateway!))} µs` : '—';
    const rps = med(e.name, (x) => x.load.rps);
    emit(`| ${e.name} | ${fmt(rps)} | ${fmt(rps / directRps, 2)} | ${fmt(med(e.name, (x) => x.load.p50ms), 2)} | ${fmt(med(e.name, (x) => x.load.p99ms), 2)} | ${fmt(app)} µs | ${fmt(app / bareApp, 2)} | ${fmt(pgCpu)} µs | ${fmt(pgCpu / barePg, 2)} | ${gw} |`);
  }
  const app = (name: string) => med(name, (x) => x.cpuUs.app!);
  emit(
    `\nThrough tsx a shop target's CPU per request is ${fmt(app('tsx: a second shop target, 200') / app('a second shop target, compiled, 200'), 2)}× its compiled twin's, ` +
      `the bare route's ${fmt(app('tsx: bare Fastify + pg route, 200') / bareApp, 2)}× its compiled one's; the shop through tsx against the bare route through tsx: ` +
      `${fmt(app('tsx: a second shop target, 200') / app('tsx: bare Fastify + pg route, 200'), 2)}×, against the compiled bare route: ` +
      `${fmt(app('tsx: a second shop target, 200') / bareApp, 2)}×.`,
  );
}

async function downloads(s: { gateway: string; target: { url: string; pid: number }; gatewayPid: number }): Promise<void> {
  const CLIENTS = 20;
  say(`downloads: ${CLIENTS} clients × 50 MiB through the gateway`);
  const base = { gateway: rssMiB(s.gatewayPid), target: rssMiB(s.target.pid) };
  const peak = { ...base };
  const sampler = setInterval(() => {
    peak.gateway = Math.max(peak.gateway, rssMiB(s.gatewayPid));
    peak.target = Math.max(peak.target, rssMiB(s.target.pid));
  }, 50);
  const t0 = performance.now();
  const sizes = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const res = await fetch(`${s.gateway}/videos/movie.mp4`);
      let n = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
      return n;
    }),
  );
  clearInterval(sampler);
  const secs = (performance.now() - t0) / 1000;
  const ok = sizes.every((n) => n === 52428800);
  if (!ok) failed++;
  emit(`\n### ${CLIENTS} concurrent downloads of the 50 MiB video through the gateway\n`);
  emit(`${fmt(sizes.reduce((a, b) => a + b, 0) / 2 ** 20)} MiB in ${fmt(secs, 1)} s${ok ? '' : ' — SOME INCOMPLETE'}.\n`);
  emit('| process | RSS before | peak | growth |\n|---|---:|---:|---:|');
  emit(`| gateway (launcher) | ${fmt(base.gateway)} MiB | ${fmt(peak.gateway)} MiB | +${fmt(peak.gateway - base.gateway)} MiB |`);
  emit(`| shop target | ${fmt(base.target)} MiB | ${fmt(peak.target)} MiB | +${fmt(peak.target - base.target)} MiB |`);
}

/** Milliseconds from spawning `argv` until its output matches `ready` (then it is stopped), or until it exits. */
function timeTo(argv: string[], ready: RegExp | undefined, env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let took: number | undefined;
    child.stdout.on('data', (d) => {
      text += d;
      if (ready && took === undefined && ready.test(text)) {
        took = performance.now() - t0;
        child.kill('SIGTERM'); // resolved once it has exited: the next run needs its database stopped
      }
    });
    child.stderr.on('data', (d) => (text += d));
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')}: not ready or not stopped after 90 s: ${text.split('\n').filter((l) => !l.startsWith('{')).join('\n').slice(-1500)}`));
    }, 90_000);
    child.on('exit', (code) => {
      clearTimeout(limit);
      if (ready && took === undefined) reject(new Error(`${argv.join(' ')} exited ${code}: ${text.slice(-400)}`));
      else resolve(took ?? performance.now() - t0);
    });
  });
}

/** `receipt --help` and `receipt start` until ready: the sources through tsx, build/ (as `npm start`), the package's dist/. */
async function startup(): Promise<void> {
  say('building dist/ (npm run build) and build/ (scripts/compile.mjs)');
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { stdio: 'ignore' });
  execFileSync(process.execPath, ['scripts/compile.mjs'], { stdio: 'ignore' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-bench-start-'));
  fs.chmodSync(dataDir, 0o755);
  const env = { DATA_DIR: dataDir, PORT: '0', HTTPS_PORT: '0', CONTROL_PORT: '0', DATABASE_URL: '' };
  const ways = { 'tsx (src/)': ['--import', 'tsx', 'src/cli/main.ts'], 'bin/receipt.js, as npm start (build/)': ['bin/receipt.js'], 'package (dist/)': ['dist/cli/main.js'] } as const;
  const help: Record<string, number[]> = {};
  const start: Record<string, number[]> = {};
  try {
    // Once first, so the embedded database is made before anything is timed.
    await timeTo(['dist/cli/main.js', 'start'], /Receipt is up|is up/, env);
    for (let r = 0; r < rounds; r++) {
      for (const [name, argv] of Object.entries(ways)) {
        say(`startup round ${r + 1}/${rounds}: ${name}`);
        (help[name] ??= []).push(await timeTo([...argv, '--help'], undefined));
        (start[name] ??= []).push(await timeTo([...argv, 'start'], /is up/, env));
        await new Promise((res) => setTimeout(res, 500)); // the stopped system lets go of its database
      }
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ref = 'tsx (src/)';
  emit('### Start-up: the command through tsx, compiled (build/) and packaged (dist/)\n');
  emit(`Median of ${rounds} interleaved rounds; \`receipt start\` is timed until its banner (embedded PostgreSQL already made).\n`);
  emit('| how | `receipt --help` | × tsx | `receipt start` ready | × tsx |\n|---|---:|---:|---:|---:|');
  for (const name of Object.keys(ways)) {
    emit(`| ${name} | ${fmt(med(help[name]!), 0)} ms | ${fmt(med(help[name]!) / med(help[ref]!), 2)} | ${fmt(med(start[name]!), 0)} ms | ${fmt(med(start[name]!) / med(start[ref]!), 2)} |`);
  }
  emit('');
}

try {
  const shown = args.filter((a, i) => a !== '--write' && args[i - 1] !== '--write');
  emit(`## Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench${shown.length ? ` -- ${shown.join(' ')}` : ''}\`\n`);
  emit(`Node ${process.version}, ${os.cpus().length} cores shared by the load generator, the proxies, the targets and PostgreSQL.\n`);
  if (only.includes('proxies')) await proxies();
  if (only.includes('shop') || only.includes('downloads')) {
    await withSystem(async (s) => {
      if (only.includes('shop')) await shop(s);
      if (only.includes('downloads')) await downloads(s);
    });
  }
  if (only.includes('startup')) await startup();
} finally {
  for (const c of children) c.kill('SIGTERM');
  fs.rmSync(BENCH_BUILD, { recursive: true, force: true });
}
if (writeTo) {
  const text = fs.readFileSync(writeTo, 'utf8');
  const start = text.indexOf('<!-- bench:start -->');
  const end = text.indexOf('<!-- bench:end -->');
  if (start < 0 || end < start) {
    console.error(`${writeTo} has no <!-- bench:start --> … <!-- bench:end --> markers`);
    process.exit(1);
  }
  fs.writeFileSync(writeTo, `${text.slice(0, start)}<!-- bench:start -->\n${out.join('\n')}\n${text.slice(end)}`);
  say(`wrote ${writeTo}`);
}
if (failed) {
  console.error(`${failed} requests failed`);
  process.exitCode = 1;
}
