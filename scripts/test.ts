/**
 * `npm test`: the whole suite against a real PostgreSQL server.
 *  - DATABASE_URL set  → that server (each test file makes and drops its own database on it);
 *  - otherwise        → an embedded server started here, in a temporary folder, and stopped at the end;
 *  - no server at all when only folders that need none are run (`npm test -- unit gateway`);
 *  - one started system for the black-box files that call sharedSystem() (test/support/system.ts).
 * Then node's test runner over every test file (Node 20's runner takes no globs, so the files are listed here),
 * three files at a time (TEST_CONCURRENCY).
 *
 *   node --import tsx scripts/test.ts [unit|app|blackbox ...]   restrict to those folders under test/ (or test files)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { ensureBuilt } from './compile.mjs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm test [-- unit|app|gateway|client|audit|blackbox|browser|package|test/<folder>/<file>.test.ts ...]

Runs the test suite against a real PostgreSQL server: the one in DATABASE_URL (each test file creates and drops
its own database there), or else an embedded server started for the run — none when the folders chosen need none.
TEST_CONCURRENCY (default 3) test files run at once. Exits non-zero when any test fails.`);
  process.exit(0);
}

function findTests(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? findTests(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []))
    .sort();
}

// Each argument a folder under test/, or one test file (test/blackbox/checkout.test.ts) for a run narrower than its folder.
const selected = args.length ? args : ['unit', 'app', 'gateway', 'client', 'audit', 'blackbox', 'browser', 'package'];
const isFile = (a: string) => a.endsWith('.test.ts');
const files = selected.flatMap((a) => (isFile(a) ? [a] : findTests(path.join('test', a))));
const missingFiles = selected.filter((a) => isFile(a) && !fs.existsSync(a));
if (missingFiles.length) {
  console.error(`no such test file: ${missingFiles.join(', ')}`);
  process.exit(1);
}
/** The folder each selection belongs to: a file's is the one under test/ it sits in. */
const folders = selected.map((a) => (isFile(a) ? path.relative('test', a).split(path.sep)[0]! : a));
if (files.length === 0) {
  console.error(`no test files under ${folders.map((f) => 'test/' + f).join(', ')}`);
  process.exit(1);
}

// The black-box tests run `receipt` as users do, on the JavaScript in build/: compiled here, once, if src/ changed,
// rather than by whichever of the files running side by side gets there first.
await ensureBuilt();

// Files run side by side: most of a test's time is spent waiting on sockets, timers and child processes, not CPU.
// TEST_CONCURRENCY=1 runs them one at a time.
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 3);

/** The folders whose tests make databases (test/support/db.ts); the others need no PostgreSQL at all. */
const NEEDS_DATABASE = ['app', 'blackbox', 'browser'];
const needsDatabase = folders.some((f) => NEEDS_DATABASE.includes(f));

let embedded: EmbeddedServer | undefined;
let adminUrl = process.env.DATABASE_URL;
let tmp: string | undefined;
if (!needsDatabase) {
  console.log(`no PostgreSQL needed for ${folders.join(', ')}`);
} else if (!adminUrl) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-test-'));
  fs.chmodSync(tmp, 0o755); // the embedded server runs as `postgres` and must be able to enter it
  process.stdout.write('starting embedded PostgreSQL for the tests… ');
  embedded = await startEmbeddedPostgres(tmp);
  adminUrl = embedded.url;
  console.log(`up on port ${embedded.port}`);
} else {
  console.log(`using the PostgreSQL server of DATABASE_URL (${new URL(adminUrl).host})`);
}

// One system for the black-box files that can share it (they call sharedSystem()): started once, here.
let shared: { description: string; stop: () => Promise<void> } | undefined;
if (adminUrl && files.some((f) => fs.readFileSync(f, 'utf8').includes('sharedSystem()'))) {
  process.env.RECEIPT_TEST_ADMIN_URL = adminUrl;
  process.stdout.write('starting the shared system for the black-box files that share one… ');
  const { startSharedSystem } = await import('../test/support/system.ts');
  shared = await startSharedSystem();
  console.log('up');
}

const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: {
    ...process.env,
    ...(adminUrl ? { RECEIPT_TEST_ADMIN_URL: adminUrl } : {}),
    ...(shared ? { RECEIPT_TEST_SHARED_SYSTEM: shared.description } : {}),
    DATABASE_URL: '',
  },
});
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));

await shared?.stop();
await embedded?.stop();
if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
process.exit(code);
