/**
 * HTTP conformance of the gateway, driven as the outside world drives it: raw bytes over TCP and TLS, Node's
 * http.request without a Content-Length, undici, curl, and node:http2 — through the gateway to an origin of the
 * tests' own (test/support/origin.ts) that reports exactly what reached it.
 *
 * Each case names the rule it pins (RFC 9112 / RFC 9110 section, or ALB's documented behaviour); docs/gateway.md
 * ("HTTP conformance") is the same list in prose.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AccessLog, FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';
import { validateGatewayConfig, type GatewayConfig } from '../../src/gateway/config.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { loadOrCreateCertificate } from '../../src/gateway/tls.ts';
import { GZIP_TEXT, origin, sha256, type Arrival, type Origin } from '../support/origin.ts';
import { curl, hasCurl } from '../support/curl.ts';
import { parseResponses, rawConnect, rawExchange } from '../support/raw-client.ts';

const IDLE_MS = 1500;
const H2_MAX_REQUESTS = 5;
// In CI a missing curl fails the run (.ci/run installs it); elsewhere its cases are skipped with a reason.
if (!hasCurl && process.env.CI) throw new Error('curl is missing: .ci/run installs it for the conformance tests');


let upstream: Origin;
let gateway: Gateway;
const lines: string[] = [];
let httpPort = 0;
let httpsPort = 0;
let tmp = '';

function config(mode?: 'monitor' | 'defensive' | 'strictest', withHttps = true): GatewayConfig {
  const listener = (protocol: 'HTTP' | 'HTTPS') => ({
    protocol,
    port: 0,
    rules: [
      { priority: 1, conditions: [{ field: 'host-header' as const, values: ['abs.example'] }], actions: [{ type: 'fixed-response' as const, statusCode: '200', messageBody: 'matched by the URI host' }] },
      { priority: 2, conditions: [{ field: 'path-pattern' as const, values: ['/empty'] }], actions: [{ type: 'forward' as const, targetGroups: [{ name: 'empty' }] }] },
    ],
    defaultActions: [{ type: 'forward' as const, targetGroups: [{ name: 'origin' }] }],
  });
  return {
    idleTimeoutMs: IDLE_MS,
    connectTimeoutMs: 1000,
    ...(mode ? { desyncMitigationMode: mode } : {}),
    listeners: withHttps ? [listener('HTTP'), listener('HTTPS')] : [listener('HTTP')],
    targetGroups: [{ name: 'origin', healthCheck: { path: '/healthz', intervalMs: 300_000 } }, { name: 'empty' }],
  };
}

async function startGateway(cfg: GatewayConfig, sink: string[], tlsPems?: { key: string; cert: string }) {
  const accessLog = new AccessLog({});
  accessLog.onLine((line) => sink.push(line));
  const g = new Gateway({ config: validateGatewayConfig(cfg), host: '127.0.0.1', accessLog, http2MaxRequests: H2_MAX_REQUESTS, ...(tlsPems ? { tls: tlsPems } : {}) });
  await g.listen();
  g.group('origin').register('origin', '127.0.0.1', upstream.port);
  return g;
}

/** The access-log fields of the newest line that `match` picks. */
async function logLine(sink: string[], match: (fields: string[]) => boolean) {
  for (let i = 0; i < 100; i++) {
    const line = [...sink].reverse().find((l) => match(parseAccessLine(l)));
    if (line) {
      const f = parseAccessLine(line);
      return Object.fromEntries(Object.entries(FIELD).map(([k, n]) => [k, f[n]!])) as Record<keyof typeof FIELD, string>;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no such access-log line');
}
const byPath = (p: string) => (f: string[]) => f[FIELD.request]!.split(' ')[1]?.endsWith(p) ?? false;

before(async () => {
  upstream = await origin();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-conformance-'));
  const pems = await loadOrCreateCertificate(tmp);
  gateway = await startGateway(config(), lines, pems);
  [httpPort, httpsPort] = gateway.ports as [number, number];
});
after(async () => {
  await gateway.close(500);
  await upstream.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const arrival = (body: string) => JSON.parse(body) as Arrival;

for (const scheme of ['http', 'https'] as const) {
  const tlsOpt = { tls: scheme === 'https' };
  const port = () => (scheme === 'http' ? httpPort : httpsPort);
  const client = scheme === 'http' ? http : https;

  describe(`HTTP/1.1 over ${scheme.toUpperCase()}: request framing (RFC 9112 §6–7)`, () => {
    it("Node's http.request without Content-Length (chunked) reaches the target whole", async () => {
      const parts = ['{"username":', '"alice",', '"password":"alice-pass"}'];
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = client.request({ host: '127.0.0.1', port: port(), method: 'POST', path: `/chunked-upload-${scheme}`, rejectUnauthorized: false, agent: false, headers: { 'content-type': 'application/json' } }, (r) => {
          let body = '';
          r.on('data', (d) => (body += d));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        });
        req.on('error', reject);
        for (const p of parts) req.write(p);
        req.end();
      });
      assert.equal(res.status, 200);
      const got = arrival(res.body);
      assert.equal(got.bodySha256, sha256(parts.join('')));
      assert.equal(got.headers['transfer-encoding'], 'chunked');
      const log = await logLine(lines, byPath(`/chunked-upload-${scheme}`));
      assert.equal(log.elbStatusCode, '200');
      assert.equal(log.targetStatusCode, '200');
    });

    it('chunk extensions, request trailers and 1,000 one-byte chunks', async () => {
      const body = 'x'.repeat(1000);
      const chunks = [...body].map((c, i) => (i === 0 ? `1;ext=value;other\r\n${c}\r\n` : `1\r\n${c}\r\n`)).join('');
      const { text } = await rawExchange(
        port(),
        `POST /tiny-chunks HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\nConnection: close\r\n\r\n${chunks}0\r\nx-sum: ${sha256(body)}\r\n\r\n`,
        tlsOpt,
      );
      const [res] = parseResponses(text);
      assert.equal(res!.status, 200);
      const got = arrival(res!.body);
      assert.equal(got.bodyLength, 1000);
      assert.equal(got.bodySha256, sha256(body));
      assert.equal(got.trailers['x-sum'], sha256(body), 'the request trailer is forwarded');
    });

    it('a 5 MiB chunked upload streams through intact', async () => {
      const block = crypto.randomBytes(64 * 1024);
      const hash = crypto.createHash('sha256');
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = client.request({ host: '127.0.0.1', port: port(), method: 'PUT', path: '/big-upload', rejectUnauthorized: false, agent: false }, (r) => {
          let b = '';
          r.on('data', (d) => (b += d));
          r.on('end', () => resolve({ status: r.statusCode!, body: b }));
        });
        req.on('error', reject);
        let n = 0;
        const pump = () => {
          while (n < 80) {
            n++;
            hash.update(block);
            if (!req.write(block)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      assert.equal(res.status, 200);
      const got = arrival(res.body);
      assert.equal(got.bodyLength, 80 * 64 * 1024);
      assert.equal(got.bodySha256, hash.digest('hex'));
    });

    it('Expect: 100-continue is answered by the gateway and never reaches the target', async () => {
      const body = 'b'.repeat(2048);
      const c = await rawConnect(port(), tlsOpt);
      c.write(`POST /expect HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
      await c.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
      c.write(body);
      const { text } = await c.untilClosed();
      const [cont, res] = parseResponses(text);
      assert.equal(cont!.status, 100);
      assert.equal(res!.status, 200);
      const got = arrival(res!.body);
      assert.equal(got.bodyLength, 2048);
      assert.equal(got.headers.expect, undefined);
    });

    it('an expectation other than 100-continue → 417, logged', async () => {
      const { text } = await rawExchange(port(), 'POST /expect-other HTTP/1.1\r\nHost: a.example\r\nExpect: the-moon\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', tlsOpt);
      assert.equal(parseResponses(text)[0]!.status, 417);
      assert.equal((await logLine(lines, byPath('/expect-other'))).errorReason, 'ExpectationFailed');
    });

    it('curl: a 2 KB POST with Expect: 100-continue and a chunked upload from stdin', { skip: !hasCurl && 'curl is not installed' }, async () => {
      const file = path.join(tmp, 'body.json');
      const body = JSON.stringify({ note: 'n'.repeat(2000) });
      fs.writeFileSync(file, body);
      const url = `${scheme}://127.0.0.1:${port()}/curl-post`;
      const post = await curl(['-sS', '-k', '-v', '--http1.1', '-H', 'content-type: application/json', '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, url]);
      assert.equal(post.status, 0, post.stderr);
      assert.match(post.stderr, /> Expect: 100-continue/);
      assert.match(post.stderr, /< HTTP\/1\.1 100 Continue/);
      assert.equal(arrival(post.stdout).bodySha256, sha256(body));
      const put = await curl(['-sS', '-k', '--http1.1', '-T', '-', `${scheme}://127.0.0.1:${port()}/curl-stdin`], body);
      assert.equal(put.status, 0, put.stderr);
      const got = arrival(put.stdout);
      assert.equal(got.method, 'PUT');
      assert.equal(got.bodySha256, sha256(body));
    });

    it('Content-Length with Transfer-Encoding (Ambiguous): chunked wins, forwarded with one framing, then both connections closed (defensive)', async () => {
      const { text, closed } = await rawExchange(port(), `POST /clte-${scheme} HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, tlsOpt);
      const [res] = parseResponses(text);
      assert.equal(res!.status, 200);
      assert.equal(res!.header('connection'), 'close');
      assert.ok(closed);
      // RFC 9112 §6.3 item 3: Transfer-Encoding overrides Content-Length; the target sees chunked alone.
      const got = upstream.last(`/clte-${scheme}`)!;
      assert.equal(got.bodyLength, 3);
      assert.equal(got.headers['content-length'], undefined);
      assert.equal(got.headers['transfer-encoding'], 'chunked');
      assert.equal(got.headers.connection, 'close', 'the target connection is not reused either');
      const log = await logLine(lines, (f) => f[FIELD.classificationReason] === 'BothTeClPresent' && f[FIELD.type] === scheme);
      assert.equal(log.classification, 'Ambiguous');
      assert.equal(log.elbStatusCode, '200');
      assert.match(log.client, /^127\.0\.0\.1:\d+$/, 'a refused request is logged with its client address');
    });

    /** Uploads 10 MB to `p` and reports the answer and whether the connection then closed. */
    const upload = (p: string) =>
      new Promise<{ status: number; connection: string | undefined; closed: boolean }>((resolve, reject) => {
        const total = 10 * 1024 * 1024;
        const req = client.request({ host: '127.0.0.1', port: port(), method: 'POST', path: p, rejectUnauthorized: false, agent: false, headers: { 'content-length': total } }, (r) => {
          r.resume();
          r.on('end', () => {
            const s = r.socket;
            const check = () => resolve({ status: r.statusCode!, connection: r.headers.connection, closed: s.destroyed });
            if (s.destroyed) check();
            else s.once('close', check);
          });
        });
        // Writing on after the gateway closed the connection fails; the answer has been read by then.
        req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
        const block = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        const pump = () => {
          while (sent < total && !req.destroyed) {
            sent += block.length;
            if (!req.write(block)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });

    it('a target that answers early (413) while a 10 MB upload is still arriving: the client gets the 413, then the connection closes', async () => {
      const result = await upload('/reject-early');
      assert.equal(result.status, 413);
      assert.equal(result.connection, 'close', 'the unread rest of the body cannot be taken for a next request (RFC 9112 §9.6)');
      assert.ok(result.closed);
      const log = await logLine(lines, byPath('/reject-early'));
      assert.equal(log.elbStatusCode, '413');
      assert.equal(log.targetStatusCode, '413');
    });

    it('a target that answers early and slams the connection: the exchange still ends at once — the 413, or a 502 blamed on the target', async () => {
      // The target's RST can overtake its own answer on the gateway's side; ALB documents that case as a 502
      // ("the target closed the connection … while the load balancer had an outstanding request").
      const result = await upload('/reject-early-slam');
      assert.ok(result.closed);
      const log = await logLine(lines, byPath('/reject-early-slam'));
      if (result.status === 502) assert.equal(log.errorReason, 'TargetClosedConnection');
      else assert.equal(result.status, 413);
    });

    it('HTTP/1.0: without keep-alive the connection closes; with it two requests share one; without Host the gateway names itself', async () => {
      const one = await rawExchange(port(), 'GET /h10 HTTP/1.0\r\nHost: a.example\r\n\r\n', tlsOpt);
      assert.ok(one.closed);
      assert.equal(parseResponses(one.text)[0]!.status, 200);
      const c = await rawConnect(port(), tlsOpt);
      c.write('GET /h10-a HTTP/1.0\r\nHost: a.example\r\nConnection: keep-alive\r\n\r\n');
      await c.waitFor(/"url":"\/h10-a"/);
      c.write('GET /h10-b HTTP/1.0\r\nHost: a.example\r\n\r\n');
      const { text } = await c.untilClosed();
      assert.deepEqual(parseResponses(text).map((r) => arrival(r.body).url), ['/h10-a', '/h10-b']);
      const noHost = await rawExchange(port(), 'GET /h10-nohost HTTP/1.0\r\n\r\n', tlsOpt);
      assert.equal(parseResponses(noHost.text)[0]!.status, 200);
      assert.equal(upstream.last('/h10-nohost')!.headers.host, `127.0.0.1:${port()}`);
    });

    it('pipelining: three requests in one write, three answers in order', async () => {
      const req = (p: string, last = false) => `GET ${p} HTTP/1.1\r\nHost: a.example\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
      const { text } = await rawExchange(port(), req('/pipe-1') + req('/pipe-2') + req('/pipe-3', true), tlsOpt);
      assert.deepEqual(parseResponses(text).map((r) => arrival(r.body).url), ['/pipe-1', '/pipe-2', '/pipe-3']);
    });

    it('a POST with neither Content-Length nor Transfer-Encoding has no content: the target gets Content-Length: 0, not an empty chunked body', async () => {
      // Found by `receipt audit`: curl -X POST without -d reached the shop as `Transfer-Encoding: chunked` and got 415.
      const c = await rawConnect(port(), tlsOpt);
      c.write('POST /no-framing HTTP/1.1\r\nHost: a.example\r\n\r\nDELETE /no-framing-del HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
      const { text } = await c.untilClosed();
      const [post, del] = parseResponses(text);
      assert.equal(post!.status, 200);
      assert.equal(del!.status, 200);
      const seen = upstream.last('/no-framing')!.headers;
      assert.equal(seen['content-length'], '0');
      assert.equal(seen['transfer-encoding'], undefined);
      const seenDel = upstream.last('/no-framing-del')!.headers;
      assert.equal(seenDel['content-length'], undefined);
      assert.equal(seenDel['transfer-encoding'], undefined);
    });

    it('a body on any method: DELETE keeps the connection; GET with a body is Ambiguous — forwarded, then closed (defensive)', async () => {
      const c = await rawConnect(port(), tlsOpt);
      c.write('DELETE /del-body HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhello');
      await c.waitFor(/"url":"\/del-body"/);
      c.write('GET /get-body HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhello');
      const { text, closed } = await c.untilClosed();
      const [del, get] = parseResponses(text);
      assert.equal(arrival(del!.body).bodyLength, 5);
      assert.equal(del!.header('connection'), 'keep-alive');
      assert.equal(arrival(get!.body).bodyLength, 5);
      assert.equal(get!.header('connection'), 'close');
      assert.ok(closed);
      const log = await logLine(lines, byPath('/get-body'));
      assert.equal(log.classification, 'Ambiguous');
      assert.equal(log.classificationReason, 'UndefinedContentLengthSemantics');
      assert.equal(upstream.last('/get-body')!.headers.connection, 'close', 'the target connection is not reused either');
    });
  });

  describe(`HTTP/1.1 over ${scheme.toUpperCase()}: request targets and Host (RFC 9112 §3.2)`, () => {
    it("absolute-form: the URI's host wins, rules match it, the target gets origin-form", async () => {
      const { text } = await rawExchange(port(), 'GET http://Upstream.Example:81/abs?x=1 HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n', tlsOpt);
      assert.equal(parseResponses(text)[0]!.status, 200);
      const got = upstream.last('/abs?x=1')!;
      assert.equal(got.headers.host, 'upstream.example:81');
      const ruled = await rawExchange(port(), 'GET http://abs.example/anything HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n', tlsOpt);
      assert.equal(parseResponses(ruled.text)[0]!.body, 'matched by the URI host');
    });

    it('OPTIONS * is forwarded as it is; * with another method → 400', async () => {
      const { text } = await rawExchange(port(), 'OPTIONS * HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', tlsOpt);
      const got = arrival(parseResponses(text)[0]!.body);
      assert.equal(got.method, 'OPTIONS');
      assert.equal(got.url, '*');
      const bad = await rawExchange(port(), 'GET * HTTP/1.1\r\nHost: a.example\r\n\r\n', tlsOpt);
      assert.equal(parseResponses(bad.text)[0]!.status, 400);
    });

    it('CONNECT → 405, a log line, the connection closed', async () => {
      const { text, closed } = await rawExchange(port(), 'CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n', tlsOpt);
      assert.equal(parseResponses(text)[0]!.status, 405);
      assert.ok(closed);
      const log = await logLine(lines, (f) => f[FIELD.request]!.startsWith('CONNECT db.internal:5432') && f[FIELD.type] === scheme);
      assert.equal(log.errorReason, 'ConnectNotAllowed');
    });

    for (const [name, head] of [
      ['no Host in HTTP/1.1', 'GET /nohost HTTP/1.1\r\n\r\n'],
      ['two Host fields', 'GET /twohosts HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'],
      ['Host: a b', 'GET /badhost HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ] as const) {
      it(`${name} → 400, logged as InvalidHostHeader`, async () => {
        const before = upstream.arrivals.length;
        const { text, closed } = await rawExchange(port(), head, tlsOpt);
        assert.equal(parseResponses(text)[0]!.status, 400);
        assert.ok(closed);
        assert.equal(upstream.arrivals.length, before, 'nothing reached the target');
        const p = head.split(' ')[1]!;
        assert.equal((await logLine(lines, byPath(p))).errorReason, 'InvalidHostHeader');
      });
    }
  });

  describe(`HTTP/1.1 over ${scheme.toUpperCase()}: upgrades and interim answers`, () => {
    const wsHead = (p: string) =>
      `GET ${p} HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

    it('WebSocket: the 101 passes, bytes flow both ways, one access-log line for the connection', async () => {
      const c = await rawConnect(port(), tlsOpt);
      c.write(wsHead('/ws'));
      await c.waitFor(/\r\n\r\n/);
      const [res] = parseResponses(c.received);
      assert.equal(res!.status, 101);
      assert.equal(res!.header('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', "RFC 6455's own example key and answer");
      c.write('ping-through-the-tunnel');
      await c.waitFor(/ping-through-the-tunnel/);
      c.destroy();
      const log = await logLine(lines, (f) => byPath('/ws')(f) && f[FIELD.type] === (scheme === 'http' ? 'ws' : 'wss'));
      assert.equal(log.elbStatusCode, '101');
      assert.equal(log.targetStatusCode, '101');
      assert.ok(Number(log.sentBytes) >= 'ping-through-the-tunnel'.length);
    });

    it('a tunnel with no traffic is closed after the idle timeout', async () => {
      const c = await rawConnect(port(), tlsOpt);
      c.write(wsHead('/ws-idle'));
      await c.waitFor(/101/);
      const { closed } = await c.untilClosed(IDLE_MS * 4);
      assert.ok(closed);
    });

    it('an upgrade takes the phases any request takes: checks, rules and target choice answer it on its socket, then close it', async () => {
      const type = scheme === 'http' ? 'ws' : 'wss';
      const xff = Array.from({ length: 31 }, (_, i) => `10.0.0.${i}`).join(', ');
      const cases: Array<[path: string, head: string, status: number]> = [
        // checks: more than 30 X-Forwarded-For addresses
        ['/ws-xff', wsHead('/ws-xff').replace('\r\n\r\n', `\r\nX-Forwarded-For: ${xff}\r\n\r\n`), 463],
        // own-answer: the fixed response of the rule for this Host
        ['/ws-own', wsHead('/ws-own').replace('Host: a.example', 'Host: abs.example'), 200],
        // pick-target: a group with no target
        ['/empty', wsHead('/empty'), 503],
      ];
      for (const [p, head, status] of cases) {
        const { text, closed } = await rawExchange(port(), head, tlsOpt);
        const [res] = parseResponses(text);
        assert.equal(res!.status, status, p);
        if (status === 200) assert.equal(res!.body, 'matched by the URI host');
        assert.ok(closed, `${p}: the connection closes after the answer`);
        const log = await logLine(lines, (f) => byPath(p)(f) && f[FIELD.type] === type);
        assert.equal(log.elbStatusCode, String(status), p);
      }
    });

    it('a target refusing the upgrade (403) is answered as it is', async () => {
      const { text, closed } = await rawExchange(port(), wsHead('/ws-refused'), tlsOpt);
      const [res] = parseResponses(text);
      assert.equal(res!.status, 403);
      assert.equal(res!.body, 'forbidden');
      assert.ok(closed);
    });

    it('an h2c upgrade is ignored (RFC 9110 §7.8): served as HTTP/1.1, and the connection stays usable', async () => {
      const c = await rawConnect(port(), tlsOpt);
      c.write('GET /h2c HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
      await c.waitFor(/"url":"\/h2c"/);
      c.write('GET /h2c-after HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
      const { text } = await c.untilClosed();
      const [first, second] = parseResponses(text);
      assert.equal(first!.status, 200);
      assert.equal(second!.status, 200);
      const got = upstream.last('/h2c')!;
      assert.equal(got.headers.upgrade, undefined);
      assert.equal(got.headers['http2-settings'], undefined);
    });

    it('103 Early Hints and an unsolicited 100 from the target are forwarded (RFC 9110 §15.2)', async () => {
      const hints = parseResponses((await rawExchange(port(), 'GET /early-hints HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', tlsOpt)).text);
      assert.deepEqual(hints.map((r) => r.status), [103, 200]);
      assert.equal(hints[0]!.header('link'), '</style.css>; rel=preload; as=style');
      const cont = parseResponses((await rawExchange(port(), 'GET /continue HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', tlsOpt)).text);
      assert.deepEqual(cont.map((r) => r.status), [100, 200]);
      const old = parseResponses((await rawExchange(port(), 'GET /early-hints HTTP/1.0\r\nHost: a.example\r\n\r\n', tlsOpt)).text);
      assert.deepEqual(old.map((r) => r.status), [200], 'never a 1xx to an HTTP/1.0 client');
    });
  });

  describe(`HTTP/1.1 over ${scheme.toUpperCase()}: answers the shop never sends pass unchanged`, () => {
    it('chunked, gzip, three Set-Cookie fields, trailers', async () => {
      const get = async (p: string) => parseResponses((await rawExchange(port(), `GET ${p} HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n`, tlsOpt)).text)[0]!;
      const chunked = await get('/chunked');
      assert.equal(chunked.header('transfer-encoding'), 'chunked');
      assert.equal(chunked.body, 'part 0\npart 1\npart 2\npart 3\npart 4\n');
      const gz = await get('/gzip');
      assert.equal(gz.header('content-encoding'), 'gzip');
      assert.equal(zlib.gunzipSync(Buffer.from(gz.body, 'latin1')).toString(), GZIP_TEXT);
      const cookies = await get('/cookies');
      assert.deepEqual(cookies.headers.filter(([k]) => k === 'set-cookie').map(([, v]) => v), ['a=1; Path=/', 'b=2; Path=/; HttpOnly', 'c=3; Path=/; Secure']);
      const trailers = await get('/trailers');
      assert.equal(trailers.body, 'body with a trailer');
      assert.deepEqual(trailers.trailers, [['x-checksum', sha256('body with a trailer')]]);
    });

    it('a 3 MiB streamed answer arrives whole (undici)', async () => {
      const res = await request(`${scheme}://127.0.0.1:${port()}/big`, { dispatcher: new (await import('undici')).Agent({ connect: { rejectUnauthorized: false } }) });
      const body = Buffer.from(await res.body.arrayBuffer());
      assert.equal(res.statusCode, 200);
      assert.equal(body.length, 3 * 1024 * 1024);
      assert.ok(body.every((b) => b === 7));
    });
  });
}

describe('HTTP/2 on the HTTPS listener (ALPN h2), HTTP/1.1 to the target', () => {
  const h2request = (session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer[]) =>
    new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string; informational: number[] }>((resolve, reject) => {
      const stream = session.request(headers, { endStream: !body });
      const informational: number[] = [];
      let responseHeaders: http2.IncomingHttpHeaders = {};
      let data = '';
      stream.on('headers', (h) => informational.push(Number(h[':status'])));
      stream.on('response', (h) => (responseHeaders = h));
      stream.on('data', (d) => (data += d));
      stream.on('end', () => resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: data, informational }));
      stream.on('error', reject);
      if (body) {
        for (const b of body) stream.write(b);
        stream.end();
      }
    });
  const connect = () => http2.connect(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });

  it('GET: the same answer and headers as HTTP/1.1; the access log says h2', async () => {
    const session = connect();
    const res = await h2request(session, { ':path': '/h2-get', ':method': 'GET', 'user-agent': 'node-http2' });
    session.close();
    assert.equal(res.status, 200);
    const got = arrival(res.body);
    assert.equal(got.httpVersion, '1.1');
    assert.equal(got.headers.host, `127.0.0.1:${httpsPort}`);
    assert.equal(got.headers['x-forwarded-proto'], 'https');
    assert.ok(Object.keys(got.headers).every((k) => !k.startsWith(':')), 'no pseudo-header reaches the target');
    const log = await logLine(lines, byPath('/h2-get'));
    assert.equal(log.type, 'h2');
    assert.match(log.request, / HTTP\/2\.0$/);
  });

  it('a request body in DATA frames goes to the target chunked; 103 is forwarded; a gateway failure keeps its mapping', async () => {
    const session = connect();
    const parts = [Buffer.from('first '), Buffer.from('second')];
    const post = await h2request(session, { ':path': '/h2-post', ':method': 'POST' }, parts);
    assert.equal(arrival(post.body).bodySha256, sha256(Buffer.concat(parts)));
    assert.equal(arrival(post.body).headers['transfer-encoding'], 'chunked');
    const hints = await h2request(session, { ':path': '/early-hints', ':method': 'GET' });
    assert.deepEqual(hints.informational, [103]);
    const empty = await h2request(session, { ':path': '/empty', ':method': 'GET' });
    session.close();
    assert.equal(empty.status, 503);
    assert.equal(empty.headers.server, 'awselb/2.0');
    assert.equal((await logLine(lines, byPath('/empty'))).errorReason, 'NoRegisteredTargets');
  });

  it('an early answer (413) to an upload in DATA frames reaches the client; Expect: 100-continue is answered here and not forwarded', async () => {
    const session = connect();
    const early = await new Promise<{ status: number }>((resolve, reject) => {
      const stream = session.request({ ':path': '/reject-early', ':method': 'POST' });
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('close', () => resolve({ status }));
      stream.on('error', (e) => (status ? resolve({ status }) : reject(e)));
      stream.resume();
      const block = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 10 * 1024 * 1024 && !stream.closed) {
          sent += block.length;
          if (!stream.write(block)) return void stream.once('drain', pump);
        }
        if (!stream.closed) stream.end();
      };
      pump();
    });
    assert.equal(early.status, 413);
    const expect = await new Promise<{ informational: number[]; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': '/h2-expect', ':method': 'POST', expect: '100-continue' });
      const informational: number[] = [];
      let body = '';
      stream.on('continue', () => {
        informational.push(100);
        stream.end('after the 100');
      });
      stream.on('data', (d) => (body += d));
      stream.on('end', () => resolve({ informational, body }));
      stream.on('error', reject);
    });
    session.close();
    assert.deepEqual(expect.informational, [100]);
    const got = arrival(expect.body);
    assert.equal(got.headers.expect, undefined);
    assert.equal(got.bodySha256, sha256('after the 100'));
  });

  it(`GOAWAY after ${H2_MAX_REQUESTS} requests on one connection (ALB: 10,000)`, async () => {
    const session = connect();
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    for (let i = 0; i < H2_MAX_REQUESTS; i++) assert.equal((await h2request(session, { ':path': `/h2-n${i}`, ':method': 'GET' })).status, 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(goaway);
    session.destroy();
  });

  it('curl --http2 negotiates h2 through ALPN', { skip: !hasCurl && 'curl is not installed' }, async () => {
    const r = await curl(['-sS', '-k', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://127.0.0.1:${httpsPort}/curl-h2`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '2 200');
  });
});

describe('desync mitigation modes (ALB: monitor, defensive, strictest)', () => {
  const modes = ['monitor', 'defensive', 'strictest'] as const;
  const sinks: Record<string, string[]> = { monitor: [], defensive: [], strictest: [] };
  const gateways: Record<string, Gateway> = {};
  before(async () => {
    for (const m of modes) gateways[m] = await startGateway(config(m, false), sinks[m]!);
  });
  after(async () => {
    for (const m of modes) await gateways[m]!.close(200);
  });

  // What ALB's documentation says each mode does with each tier: forward, forward then close, or 400 and close.
  const table = [
    { name: 'GET with Content-Length: 0 (Acceptable)', request: 'GET /d-zero HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n', monitor: 'keep', defensive: 'keep', strictest: 'block', reason: 'GetHeadZeroContentLength' },
    { name: 'GET with a body (Ambiguous)', request: 'GET /d-body HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc', monitor: 'keep', defensive: 'close', strictest: 'block', reason: 'UndefinedContentLengthSemantics' },
    { name: 'a field name that normalises to Content-Length (Ambiguous)', request: 'POST /d-sus HTTP/1.1\r\nHost: a.example\r\nContent_Length: 3\r\nContent-Length: 3\r\n\r\nabc', monitor: 'keep', defensive: 'close', strictest: 'block', reason: 'SuspiciousHeader' },
    { name: 'a compliant POST', request: 'POST /d-ok HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc', monitor: 'keep', defensive: 'keep', strictest: 'keep', reason: '-' },
  ] as const;

  for (const row of table) {
    for (const m of modes) {
      it(`${row.name} in ${m} mode: ${row[m]}`, async () => {
        const port = gateways[m]!.ports[0]!;
        const { text, closed } = await rawExchange(port, row.request, { timeoutMs: 400 });
        const [res] = parseResponses(text);
        if (row[m] === 'block') {
          assert.equal(res!.status, 400);
          assert.ok(closed);
        } else {
          assert.equal(res!.status, 200);
          assert.equal(closed, row[m] === 'close');
        }
        const p = row.request.split(' ')[1]!;
        const log = await logLine(sinks[m]!, byPath(p));
        assert.equal(log.classificationReason, row.reason);
        if (row[m] === 'block') assert.equal(log.errorReason, 'DesyncMitigationBlocked');
      });
    }
  }
});

describe('no client input makes a target look guilty', () => {
  it('200 requests of every shape to a healthy target: no 5xx, no target-blamed reason in the access log', async () => {
    // A seeded generator: methods, targets, framings, odd fields, versions — valid and invalid alike.
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
    const sink: string[] = [];
    const g = await startGateway(config('defensive', false), sink);
    const port = g.ports[0]!;
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const method = pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'BREW']);
      const target = pick([`/f${i}`, `/f${i}?a=1&a=2`, `http://x.example/f${i}`, '*', `/f${i}/%2e%2e/x`, `/f${i}?q=${'z'.repeat(rnd(3000))}`]);
      const version = pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0']);
      // Every request asks to close, so each exchange ends when its answer does.
      const fields = [pick(['Host: a.example', 'Host: A.EXAMPLE:8080', 'Host: [::1]:80', '']), 'Connection: close'];
      if (rnd(3) === 0) fields.push(pick(['Expect: 100-continue', 'Upgrade: h2c\r\nConnection: Upgrade', 'Connection: close', 'Connection: keep-alive, X-Drop', 'X-Drop: 1', 'TE: trailers', 'Accept-Encoding: gzip']));
      const body = 'b'.repeat(rnd(4) === 0 ? 0 : rnd(5000));
      const framing = pick(['cl', 'chunked', 'none']);
      let text = `${method} ${target} ${version}\r\n${fields.filter(Boolean).join('\r\n')}${fields.some(Boolean) ? '\r\n' : ''}`;
      if (framing === 'cl') text += `Content-Length: ${body.length}\r\n\r\n${body}`;
      else if (framing === 'chunked') text += `Transfer-Encoding: chunked\r\n\r\n${body.length ? `${body.length.toString(16)}\r\n${body}\r\n` : ''}0\r\n\r\n`;
      else text += '\r\n';
      const { text: out } = await rawExchange(port, text, { timeoutMs: 300 });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0);
      if (status) statuses.push(status);
      assert.ok(status < 500, `request ${i} got ${status}:\n${text.slice(0, 300)}`);
    }
    await g.close(200);
    assert.ok(statuses.filter((s) => s === 200).length > 50, 'most requests were forwarded');
    const blamed = sink.map(parseAccessLine).filter((f) => /^(Target|Deregistration)/.test(f[FIELD.errorReason]!) || Number(f[FIELD.elbStatusCode]) >= 500);
    assert.deepEqual(blamed, []);
  });
});
