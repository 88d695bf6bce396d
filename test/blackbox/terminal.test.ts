/**
 * What a person sees in the terminal where they ran `receipt start` or `receipt gateway`: the real command under a
 * pseudo-terminal, read as they would read it — the banner (with a dashboard link that signs in), then one readable
 * line per request, coloured by who answered, and one line per health-state change; JSON lines only when the output
 * is a pipe or asked for; nothing but the banner and errors under --quiet; no escape codes under NO_COLOR.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDatabase, type TestDb } from '../support/db.ts';
import { receipt, type Session } from '../support/terminal.ts';

// eslint-disable-next-line no-control-regex
const ESC = /\x1b\[/;
/** A line a person reads for a request: time, status, method and path, who answered, ms, request id. */
const requestLine = (status: number, pathRe: string, who: string, id: string) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${status}  GET ${pathRe}  ${who}  \\d+ ms  ${id}$`, 'm');

/** The dashboard link from the banner, opened as a browser opens it: the sign-in redirect, then the page with its cookie. */
async function openDashboard(link: string): Promise<{ status: number; body: string }> {
  const signIn = await fetch(link, { redirect: 'manual' });
  assert.equal(signIn.status, 303, 'the link signs in');
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const page = await fetch(new URL(signIn.headers.get('location')!, link), { headers: { cookie } });
  return { status: page.status, body: await page.text() };
}

/** The lines printed after the banner's last line. */
function afterBanner(text: string, lastLine: RegExp): string[] {
  const at = text.search(lastLine);
  assert.ok(at >= 0, 'the banner was printed');
  return text.slice(at).split('\n').slice(1).filter((l) => l.trim() !== '' && l.trim() !== '^C');
}

describe('receipt start on a terminal', () => {
  let db: TestDb;
  let dataDir: string;
  const sessions: Session[] = [];
  before(async () => {
    db = await testDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-terminal-'));
  });
  after(async () => {
    for (const s of sessions) await s.stop();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (args: string[], env: Record<string, string | undefined>, tty: boolean) => {
    const s = receipt(['start', ...args], { DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', HTTPS_PORT: '0', CONTROL_PORT: '0', CONTROL_TOKEN: undefined, LOG_LEVEL: undefined, LOG_FORMAT: undefined, ...env }, { tty });
    sessions.push(s);
    return s;
  };
  const gatewayUrl = (s: Session) => /gateway +(http:\/\/\S+)/.exec(s.text())![1]!;

  it('reads as a person reads it: the banner with a dashboard link that opens, one coloured line per request and per health change, no JSON', async () => {
    const s = start([], { TERM: 'xterm', NO_COLOR: undefined, TARGETS: '2' }, true);
    await s.waitFor(/^Below: one line per request/m);
    const banner = s.text();
    const link = /^ {2}dashboard +(http:\/\/\S+\/dashboard\?token=\S+)$/m.exec(banner)?.[1];
    assert.ok(link, `the banner names the dashboard with its sign-in link:\n${banner}`);
    const token = /control +(http:\/\/\S+) +token (\S+) \(generated/.exec(banner)!;
    const dashboard = await openDashboard(link);
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.body, /<html/i);
    assert.match(banner, /Demo users +alice \/ alice-pass/);
    assert.match(banner, /npx receipt targets · npx receipt kill shop-1 · npx receipt faults · npx receipt deploy/);
    const url = gatewayUrl(s);

    const ok = await fetch(`${url}/products/42`, { headers: { 'x-request-id': 'tty-ok-1' } });
    assert.equal(ok.status, 200);
    await s.waitFor(requestLine(200, '/products/42', 'shop-\\d', 'tty-ok-1'));
    assert.equal((await fetch(`${url}/no-such-page`, { headers: { 'x-request-id': 'tty-404-1' } })).status, 404);
    await s.waitFor(requestLine(404, '/no-such-page', 'shop-\\d', 'tty-404-1'));
    // Colour by who answered: a target's 2xx green, a 4xx (the client's fault) yellow.
    assert.match(s.raw(), /\x1b\[32m200\x1b\[0m {2}GET \/products\/42/); // eslint-disable-line no-control-regex
    assert.match(s.raw(), /\x1b\[33m404\x1b\[0m {2}GET \/no-such-page/); // eslint-disable-line no-control-regex

    // A target killed: the gateway's own 502s, blamed on it, until its health checks fail — one line for the change.
    const kill = await fetch(`${token[1]}/targets/shop-1/kill`, { method: 'POST', headers: { authorization: `Bearer ${token[2]}` } });
    assert.equal(kill.status, 200);
    let n = 0;
    const made502 = requestLine(502, '/products/42', 'gateway Target\\w+ \\(shop-1\\)', 'tty-after-kill-\\d+');
    while (!made502.test(s.text()) && n < 20) await fetch(`${url}/products/42`, { headers: { 'x-request-id': `tty-after-kill-${++n}` } });
    await s.waitFor(made502);
    assert.match(s.raw(), /\x1b\[35m502\x1b\[0m {2}GET \/products\/42/, 'a 5xx the gateway made is not coloured as a target 5xx'); // eslint-disable-line no-control-regex
    await s.waitFor(/^\d\d:\d\d:\d\d {2}shop-1 {2}healthy → unhealthy {2}Target\.\w+ \(health check: \w+\)$/m, 40_000);

    const lines = afterBanner(s.text(), /^Below: one line per request/m);
    assert.deepEqual(lines.filter((l) => l.trimStart().startsWith('{')), [], 'no JSON on the terminal');
    // Health checks ran every few seconds for both targets all along; shop-2 changed state once, at most (initial → healthy).
    assert.ok(lines.filter((l) => /shop-2 {2}\w+ →/.test(l)).length <= 1, lines.join('\n'));
    assert.doesNotMatch(s.text(), /healthz/, "targets' routine request lines (their health checks) are not shown");
    assert.equal(await s.stop(), 0);
  });

  it('with stdout piped: JSON lines, each request line carrying its request id', async () => {
    const s = start([], { TARGETS: '1', NO_COLOR: '1' }, false);
    await s.waitFor(/^Ctrl-C stops everything.*$/m);
    const res = await fetch(`${gatewayUrl(s)}/products/42`, { headers: { 'x-request-id': 'piped-1' } });
    assert.equal(res.status, 200);
    await s.waitFor(/"reqId":"piped-1"/);
    const lines = afterBanner(s.text(), /^Ctrl-C stops everything/m);
    const entries = lines.map((l) => JSON.parse(l) as { reqId?: string; res?: { statusCode: number } });
    assert.equal(entries.find((e) => e.reqId === 'piped-1')?.res?.statusCode, 200);
    // Health: the change is the event (the gateway's line), not each check (the target's lines for /healthz).
    const change = JSON.parse((await s.waitFor(/^\{.*"msg":"target shop-1 healthy".*$/m))[0]) as Record<string, unknown>;
    assert.deepEqual([change.name, change.from, change.to], ['gateway', 'initial', 'healthy']);
    assert.doesNotMatch(s.text(), /healthz/);
    assert.equal(await s.stop(), 0);
  });

  it('--log-format json on a terminal: JSON lines there too', async () => {
    const s = start(['--log-format', 'json'], { TARGETS: '1', TERM: 'xterm' }, true);
    await s.waitFor(/^Ctrl-C stops everything.*$/m);
    assert.equal((await fetch(`${gatewayUrl(s)}/products/42`, { headers: { 'x-request-id': 'tty-json-1' } })).status, 200);
    await s.waitFor(/"reqId":"tty-json-1"/);
    for (const line of afterBanner(s.text(), /^Ctrl-C stops everything/m)) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.equal(await s.stop(), 0);
  });

  it('--quiet: the banner, and no line per request', async () => {
    const s = start(['--quiet'], { TARGETS: '1', TERM: 'xterm' }, true);
    await s.waitFor(/Only errors are printed/);
    assert.match(s.text(), /dashboard +http/);
    assert.doesNotMatch(s.text(), /… starting/, 'no progress lines');
    assert.equal((await fetch(`${gatewayUrl(s)}/products/42`, { headers: { 'x-request-id': 'tty-quiet-1' } })).status, 200);
    assert.equal(await s.stop(), 0);
    // Stopped after the answer: a line for it would have been written by now.
    assert.doesNotMatch(s.text(), /tty-quiet-1/);
    assert.deepEqual(afterBanner(s.text(), /Only errors are printed/).filter((l) => !/SIGINT: stopping/.test(l)), []);
  });

  it('NO_COLOR: the same readable lines, without an escape code', async () => {
    const s = start([], { TARGETS: '1', TERM: 'xterm', NO_COLOR: '1' }, true);
    await s.waitFor(/^Below: one line per request/m);
    assert.equal((await fetch(`${gatewayUrl(s)}/products/42`, { headers: { 'x-request-id': 'tty-nocolor-1' } })).status, 200);
    await s.waitFor(requestLine(200, '/products/42', 'shop-1', 'tty-nocolor-1'));
    assert.doesNotMatch(s.raw(), ESC);
    assert.equal(await s.stop(), 0);
  });
});

describe('receipt gateway on a terminal, in front of your server', () => {
  let server: http.Server;
  let port = 0;
  let dataDir = '';
  const sessions: Session[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/boom') res.writeHead(500, { 'content-type': 'text/plain' }).end('your bug');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-terminal-gw-'));
  });
  after(async () => {
    for (const s of sessions) await s.stop();
    server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const gateway = (env: Record<string, string | undefined>, tty: boolean) => {
    const s = receipt(['gateway', '--target', `api=127.0.0.1:${port}`, '--port', '0', '--control-port', '0', '--data-dir', dataDir], { CONTROL_TOKEN: undefined, LOG_FORMAT: undefined, ...env }, { tty });
    sessions.push(s);
    return s;
  };

  it('piped: one JSON line per request, with its request id and who answered', async () => {
    const s = gateway({ NO_COLOR: '1' }, false);
    await s.waitFor(/^Ctrl-C stops it.*$/m);
    const url = /listeners +(http:\/\/\S+)/.exec(s.text())![1]!;
    assert.equal((await fetch(`${url}/hello`, { headers: { 'x-request-id': 'gw-piped-1' } })).status, 200);
    const line = (await s.waitFor(/^\{.*"reqId":"gw-piped-1".*\}$/m))[0];
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.status, 200);
    assert.equal(entry.answeredBy, 'target');
    assert.equal(entry.path, '/hello');
    // Health-state changes are JSON lines too: the target's first passing check.
    const healthy = JSON.parse((await s.waitFor(/^\{.*"to":"healthy".*\}$/m))[0]) as Record<string, unknown>;
    assert.deepEqual([healthy.target, healthy.from, healthy.reason], [`127.0.0.1:${port}`, 'initial', 'Target.Healthy']);
    assert.equal(await s.stop(), 0);
  });

  it('a line per request coloured by who answered, the dashboard link, and a line when your server stops answering its health checks', async () => {
    const s = gateway({ TERM: 'xterm', NO_COLOR: undefined }, true);
    await s.waitFor(/^Below: one line per request/m);
    const text = s.text();
    const url = /listeners +(http:\/\/\S+)/.exec(text)![1]!;
    const link = /^ {2}dashboard +(http:\/\/\S+\/dashboard\?token=\S+)$/m.exec(text)?.[1];
    assert.ok(link, text);
    assert.equal((await openDashboard(link)).status, 200);
    const who = `api 127\\.0\\.0\\.1:${port}`;

    assert.equal((await fetch(`${url}/hello`, { headers: { 'x-request-id': 'gw-tty-1' } })).status, 200);
    await s.waitFor(requestLine(200, '/hello', who, 'gw-tty-1'));
    assert.equal((await fetch(`${url}/boom`, { headers: { 'x-request-id': 'gw-tty-2' } })).status, 500);
    await s.waitFor(requestLine(500, '/boom', who, 'gw-tty-2'));
    assert.match(s.raw(), /\x1b\[31m500\x1b\[0m {2}GET \/boom {2}\x1b\[31mapi /, "a 5xx your server sent is red and names it"); // eslint-disable-line no-control-regex
    await s.waitFor(new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${who}  initial → healthy  Target\\.Healthy$`, 'm'));

    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    assert.equal((await fetch(`${url}/after-stop`, { headers: { 'x-request-id': 'gw-tty-3' } })).status, 502);
    await s.waitFor(requestLine(502, '/after-stop', `gateway Target\\w+ \\(${who}\\)`, 'gw-tty-3'));
    assert.match(s.raw(), /\x1b\[35m502\x1b\[0m/); // eslint-disable-line no-control-regex
    await s.waitFor(new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${who}  healthy → unhealthy  Target\\.FailedHealthChecks \\(health check: ECONNREFUSED\\)$`, 'm'), 30_000);
    assert.deepEqual(afterBanner(s.text(), /^Below: one line per request/m).filter((l) => l.trimStart().startsWith('{')), []);
    assert.equal(await s.stop(), 0);
  });
});
