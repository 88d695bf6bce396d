/**
 * `receipt gateway` run as a user runs it: the real command in its own process, in front of a small server of the
 * test's own — no database, no shop. Its answers, its access log, its control plane and metrics, its refusals.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';

const BIN = path.resolve('bin/receipt.js');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('receipt gateway', () => {
  let server: http.Server;
  let serverPort = 0;
  let seen: http.IncomingHttpHeaders | undefined;
  let child: ChildProcess;
  let out = '';
  let dataDir = '';
  let url = '';
  let control = '';

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url !== '/') seen = req.headers;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`app saw ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    serverPort = (server.address() as net.AddressInfo).port;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-gateway-cmd-'));
    child = spawn(process.execPath, [BIN, 'gateway', '--target', `app=127.0.0.1:${serverPort}`, '--port', '0', '--control-port', '0', '--control-token', 'tok', '--data-dir', dataDir], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (/control +http/.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    url = /listeners +(http:\/\/\S+)/.exec(out)![1]!;
    control = /control +(http:\/\/\S+)/.exec(out)![1]!;
  });
  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints its listeners, targets, control plane and access log, with no colour under NO_COLOR', () => {
    assert.match(out, /Receipt gateway is up/);
    assert.match(out, new RegExp(`targets +app: 127\\.0\\.0\\.1:${serverPort}`));
    assert.doesNotMatch(out, /\x1b\[/); // eslint-disable-line no-control-regex
  });

  it('forwards to your server with ALB’s headers, and logs the request', async () => {
    const res = await fetch(`${url}/hello?x=1`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'app saw /hello?x=1');
    assert.equal(seen!['x-forwarded-proto'], 'http');
    assert.match(String(seen!['x-amzn-trace-id']), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    const logFile = path.join(dataDir, 'access.log');
    for (let i = 0; i < 50 && !(fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('/hello?x=1')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(fs.readFileSync(logFile, 'utf8'), /"GET http:\/\/127\.0\.0\.1:\d+\/hello\?x=1 HTTP\/1\.1"/);
  });

  it('its control plane lists the target with its health, and /metrics counts the request under ALB’s names', async () => {
    const auth = { authorization: 'Bearer tok' };
    const targets = (await (await fetch(`${control}/targets`, { headers: auth })).json()) as Array<{ target_group: string; state: string; process: string }>;
    assert.equal(targets.length, 1);
    assert.equal(targets[0]!.target_group, 'app');
    assert.equal(targets[0]!.process, 'external');
    const metrics = await (await fetch(`${control}/metrics`, { headers: auth })).text();
    assert.match(metrics, /^receipt_alb_request_count_total\{target_group="app"\} [1-9]/m);
    assert.equal((await fetch(`${control}/faults`, { headers: auth })).status, 404, 'no database, so no fault document');
    assert.equal((await fetch(`${control}/targets`)).status, 401);
  });

  it('your server stopped: 502 from the gateway, blamed on the target', async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    const res = await fetch(`${url}/after-stop`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 502);
    // ALB's bytes by default: its HTML page whatever the Accept, and no X-Request-Id of Receipt's.
    assert.equal(res.headers.get('content-type'), 'text/html');
    assert.equal(res.headers.get('x-request-id'), null);
    assert.match(await res.text(), /<h1>502 Bad Gateway<\/h1>/);
    // Refused on a new connection, or reset on a pooled one the server had just closed: the target's either way —
    // as the access log says.
    const line = await eventuallyLine(path.join(dataDir, 'access.log'), '/after-stop');
    assert.match(parseAccessLine(line)[FIELD.errorReason]!, /^Target(ConnectionRefused|ClosedConnection)$/);
  });

  it('SIGTERM stops it cleanly (exit 0)', async () => {
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
  });
});

/** The access-log line of a request, once the batched log has written it (within 100 ms; waits up to 5 s). */
async function eventuallyLine(file: string, needle: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const line = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').find((l) => l.includes(needle)) : undefined;
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access-log line for ${needle} in ${file}`);
}

describe('receipt gateway refuses what it cannot run', () => {
  it('--help lists every flag and exits 0', async () => {
    const r = await run(['gateway', '--help']);
    assert.equal(r.code, 0);
    for (const flag of ['--target', '--config', '--host', '--port', '--https-port', '--health-path', '--idle-timeout-ms', '--desync-mode', '--control-port', '--control-token', '--data-dir', '--log-level']) {
      assert.ok(r.stdout.includes(flag), flag);
    }
  });

  it('a bad configuration file: exit 1, the field’s path and what was expected', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-gateway-bad-'));
    const file = path.join(dir, 'alb.json');
    fs.writeFileSync(file, JSON.stringify({ listeners: [{ protocol: 'HTTP', port: 'eighty', defaultActions: [{ type: 'forward', targetGroups: [{ name: 'a' }] }] }], targetGroups: [{ name: 'a' }] }));
    const r = await run(['gateway', '--config', file, '--control-port', '0']);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /listeners\[0\]\.port/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a mistake the user can fix');
  });

  it('a malformed --target, or none at all: exit 1 with what to write instead', async () => {
    const bad = await run(['gateway', '--target', 'app:3000', '--control-port', '0']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /expected name=host:port/);
    const none = await run(['gateway', '--control-port', '0']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /--target name=host:port, or a --config file/);
  });
});
