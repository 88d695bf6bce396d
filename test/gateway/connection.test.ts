/**
 * Order and integrity on one HTTP/1.x connection (listener/connection.ts), over raw sockets: answers in request
 * order, a request that came before bad bytes answered before the 400 (as nginx does), a body never read as a
 * request, pipelined requests forwarded one at a time (ALB does not pipeline to targets), and connections that
 * live as ALB's do — by the idle timeout and the client keep-alive duration, with no `Keep-Alive` field.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AccessLog } from '../../src/gateway/access-log.ts';
import { validateGatewayConfig, type GatewayConfig } from '../../src/gateway/config.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { parseResponses, rawConnect, rawExchange } from '../support/raw-client.ts';

const IDLE_MS = 500;

/** A target that answers after `?delay=ms` and records how many requests it held at once. */
let target: http.Server;
let targetPort = 0;
let inFlight = 0;
let maxInFlight = 0;
const seen: Array<{ url: string; body: string }> = [];

async function startGateway(extra: Partial<GatewayConfig> = {}) {
  const g = new Gateway({
    config: validateGatewayConfig({
      idleTimeoutMs: IDLE_MS,
      listeners: [
        {
          protocol: 'HTTP',
          port: 0,
          rules: [{ priority: 1, conditions: [{ field: 'path-pattern', values: ['/fixed*'] }], actions: [{ type: 'fixed-response', statusCode: '202', messageBody: 'fixed' }] }],
          defaultActions: [{ type: 'forward', targetGroups: [{ name: 't' }] }],
        },
      ],
      targetGroups: [{ name: 't', healthCheck: { path: '/healthz', intervalMs: 300_000 } }],
      ...extra,
    }),
    host: '127.0.0.1',
    accessLog: new AccessLog({}),
  });
  await g.listen();
  g.group('t').register('t', '127.0.0.1', targetPort);
  return g;
}

let gateway: Gateway;
let port = 0;
before(async () => {
  target = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/healthz') return void res.end('ok');
      if (req.url === '/stream') {
        // A body of unknown length with a trailer: chunked from the target.
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
        res.write('part one, ');
        res.addTrailers({ 'x-sum': '42' });
        return void res.end('part two');
      }
      seen.push({ url: req.url!, body });
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`answer to ${req.url}`);
      }, delay);
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetPort = (target.address() as net.AddressInfo).port;
  gateway = await startGateway();
  port = gateway.ports[0]!;
});
after(async () => {
  await gateway.close(200);
  target.closeAllConnections();
  await new Promise((r) => target.close(r));
});

describe('one connection, many requests', () => {
  it('a request before bad bytes is answered (200) before the 400 for the bytes, then the connection closes', async () => {
    const { text, closed } = await rawExchange(port, 'GET /before-garbage HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n');
    const answers = parseResponses(text);
    assert.deepEqual(answers.map((r) => r.status), [200, 400]);
    assert.equal(answers[0]!.body, 'answer to /before-garbage');
    assert.ok(closed);
  });

  it('pipelined requests are answered in request order, the slow first one too', async () => {
    const req = (p: string, last = false) => `GET ${p} HTTP/1.1\r\nHost: a\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
    const { text } = await rawExchange(port, req('/order-1?delay=150') + req('/order-2') + req('/order-3?delay=50') + req('/order-4', true));
    assert.deepEqual(
      parseResponses(text).map((r) => r.body),
      ['/order-1?delay=150', '/order-2', '/order-3?delay=50', '/order-4'].map((p) => `answer to ${p}`),
    );
  });

  it('pipelined requests reach the target one at a time', async () => {
    maxInFlight = 0;
    const reqs = Array.from({ length: 5 }, (_, i) => `GET /one-at-a-time-${i}?delay=30 HTTP/1.1\r\nHost: a\r\n${i === 4 ? 'Connection: close\r\n' : ''}\r\n`).join('');
    const { text } = await rawExchange(port, reqs);
    assert.equal(parseResponses(text).length, 5);
    assert.equal(maxInFlight, 1);
  });

  it('a body that looks like a request is a body: forwarded as the POST’s content, never as a request', async () => {
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';
    const chunkedBody = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const { text } = await rawExchange(
      port,
      `POST /carrier-cl HTTP/1.1\r\nHost: a\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
        `POST /carrier-chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody}` +
        'GET /after-carriers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(parseResponses(text).map((r) => r.body), ['answer to /carrier-cl', 'answer to /carrier-chunked', 'answer to /after-carriers']);
    assert.equal(seen.find((s) => s.url === '/carrier-cl')!.body, smuggled);
    assert.equal(seen.find((s) => s.url === '/carrier-chunked')!.body, smuggled);
    assert.ok(!seen.some((s) => s.url === '/smuggled'), 'nothing reached the target as /smuggled');
  });
});

describe('bodies the gateway answers without reading', () => {
  it('a fixed response to an upload: the body is read past and dropped, and the next request is served', async () => {
    const smuggled = 'GET /smuggled-past-fixed HTTP/1.1\r\nHost: a\r\n\r\n';
    const { text, closed } = await rawExchange(
      port,
      `POST /fixed-upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n` +
        'GET /after-fixed HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(parseResponses(text).map((r) => [r.status, r.body]), [
      [202, 'fixed'],
      [200, 'answer to /after-fixed'],
    ]);
    assert.ok(closed);
    assert.ok(!seen.some((s) => s.url === '/smuggled-past-fixed'));
  });

  it('Expect: 100-continue answered with a final status instead: no 100, and the connection closes (the body will not come)', async () => {
    const c = await rawConnect(port);
    c.write('POST /fixed-expect HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    const { text, closed } = await c.untilClosed();
    assert.deepEqual(parseResponses(text).map((r) => r.status), [202]);
    assert.ok(closed);
  });
});

describe('keep-alive as ALB keeps it', () => {
  it('a kept connection says `Connection: keep-alive` and sends no `Keep-Alive` field', async () => {
    const c = await rawConnect(port);
    c.write('GET /no-keep-alive-field HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.waitFor(/answer to \/no-keep-alive-field/);
    const [res] = parseResponses(c.received);
    c.destroy();
    assert.equal(res!.header('connection'), 'keep-alive');
    assert.equal(res!.header('keep-alive'), undefined);
  });

  it('an idle connection is closed after the idle timeout, without an answer', async () => {
    const c = await rawConnect(port);
    c.write('GET /then-idle HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.waitFor(/answer to \/then-idle/);
    const { text, closed } = await c.untilClosed(IDLE_MS * 6);
    assert.ok(closed, 'closed by the gateway');
    assert.equal(parseResponses(text).length, 1, 'no 408 for a connection that started no request');
  });

  it('past the client keep-alive duration, the next answer closes the connection', async () => {
    const g = await startGateway({ clientKeepAliveMs: 1 });
    const c = await rawConnect(g.ports[0]!);
    await new Promise((r) => setTimeout(r, 20));
    c.write('GET /keep-alive-over HTTP/1.1\r\nHost: a\r\n\r\n');
    const { text, closed } = await c.untilClosed();
    await g.close(100);
    const [res] = parseResponses(text);
    assert.equal(res!.status, 200);
    assert.equal(res!.header('connection'), 'close');
    assert.ok(closed);
  });

  it('during shutdown, an answer in progress is delivered with `Connection: close`; the gateway then closes', async () => {
    const g = await startGateway();
    const c = await rawConnect(g.ports[0]!);
    c.write('GET /during-shutdown?delay=200 HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const closing = g.close(2000);
    const { text, closed } = await c.untilClosed();
    await closing;
    const [res] = parseResponses(text);
    assert.equal(res!.status, 200);
    assert.equal(res!.header('connection'), 'close');
    assert.ok(closed);
  });
});

describe('the answer as written to the client (listener/response.ts)', () => {
  it('a body of unknown length goes chunked to an HTTP/1.1 client, its trailer after the last chunk (RFC 9112 §7.1)', async () => {
    const { text, closed } = await rawExchange(port, 'GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nTransfer-Encoding: chunked(\r\n|$)/);
    assert.doesNotMatch(head, /content-length/i);
    assert.match(head, /\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT(\r\n|$)/);
    // The chunks as they came (however the gateway cut them), then the last chunk and the trailer section.
    let rest = body;
    let content = '';
    for (let size = parseInt(rest, 16); size > 0; size = parseInt(rest, 16)) {
      const start = rest.indexOf('\r\n') + 2;
      content += rest.slice(start, start + size);
      assert.equal(rest.slice(start + size, start + size + 2), '\r\n');
      rest = rest.slice(start + size + 2);
    }
    assert.equal(content, 'part one, part two');
    assert.match(rest, /^0\r\nx-sum: 42\r\n\r\n$/i);
    assert.equal(closed, true);
  });

  it('to an HTTP/1.0 client, which cannot read chunked, the same body ends with the connection (RFC 9112 §6.3)', async () => {
    const { text, closed } = await rawExchange(port, 'GET /stream HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
    const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nConnection: close(\r\n|$)/);
    assert.doesNotMatch(head, /transfer-encoding|content-length/i);
    assert.equal(body, 'part one, part two');
    assert.equal(closed, true);
  });

  it('an answer to HEAD has no body: the next answer follows right after its head', async () => {
    const { text } = await rawExchange(port, 'HEAD /head HTTP/1.1\r\nHost: a\r\n\r\nGET /after-head HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const first = text.slice(0, text.indexOf('\r\n\r\n') + 4);
    assert.match(first, /\r\nConnection: keep-alive\r\n/);
    assert.match(text.slice(first.length), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n[\s\S]*answer to \/after-head/);
  });
});
