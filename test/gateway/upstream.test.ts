/**
 * The gateway's client to a target (src/gateway/upstream.ts): connections kept and reused, given up before the
 * target gives up on them, closed when either side says so, and never more than the limit at once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Upstream, type ExchangeHandlers } from '../../src/gateway/upstream.ts';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers) await c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

function upstream(port: number, over: Partial<ConstructorParameters<typeof Upstream>[0]> = {}) {
  const counts = { opened: 0, open: 0 };
  const u = new Upstream({ host: '127.0.0.1', port, connectTimeoutMs: 1000, idleTimeoutMs: 10_000, maxResponseHeaderBytes: 32 * 1024, counts, ...over });
  closers.push(async () => u.destroy());
  const get = (path = '/') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      let status = 0;
      let body = '';
      const h: ExchangeHandlers = {
        informational: () => {},
        head: (s) => (status = s),
        body: (c) => (body += c.toString()),
        end: () => resolve({ status, body }),
        error: reject,
      };
      u.request(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`, { chunked: false, headRequest: false }, h).end();
    });
  return { u, counts, get };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('upstream connections', () => {
  it('twenty requests one after another share one connection', async () => {
    const port = await listen(http.createServer((_q, s) => s.end('ok')));
    const { counts, get } = upstream(port);
    for (let i = 0; i < 20; i++) assert.deepEqual(await get(), { status: 200, body: 'ok' });
    assert.equal(counts.opened, 1);
  });

  it("the target's Keep-Alive: timeout= is honoured: an idle connection is dropped a second before the target would", async () => {
    const server = http.createServer((_q, s) => s.end('ok'));
    server.keepAliveTimeout = 2000; // sends Keep-Alive: timeout=2
    const port = await listen(server);
    const { counts, get } = upstream(port);
    assert.equal((await get()).status, 200);
    await sleep(1300);
    assert.equal(counts.open, 0, 'dropped after ~1 s idle');
    assert.equal((await get()).status, 200);
    assert.equal(counts.opened, 2);
  });

  it('a target that closes an idle connection without a hint: noticed, and the next request gets a new one', async () => {
    const port = await listen(
      net.createServer((s) => {
        s.on('error', () => {});
        s.on('data', () => {
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          setTimeout(() => s.end(), 50);
        });
      }),
    );
    const { counts, get } = upstream(port);
    assert.equal((await get()).status, 200);
    await sleep(200);
    assert.equal((await get()).status, 200);
    assert.equal(counts.opened, 2);
  });

  it('Connection: close from the target ends the connection after its answer', async () => {
    const port = await listen(http.createServer((_q, s) => s.setHeader('connection', 'close').end('bye')));
    const { counts, get } = upstream(port);
    for (let i = 0; i < 3; i++) assert.equal((await get()).body, 'bye');
    assert.equal(counts.opened, 3);
  });

  it('never more than maxConnections at once: the rest wait their turn, none fails', async () => {
    let concurrent = 0;
    let peak = 0;
    const port = await listen(
      http.createServer((_q, s) => {
        peak = Math.max(peak, ++concurrent);
        setTimeout(() => {
          concurrent--;
          s.end('slow');
        }, 50);
      }),
    );
    const { counts, get } = upstream(port, { maxConnections: 2 });
    const all = await Promise.all(Array.from({ length: 7 }, () => get()));
    assert.ok(all.every((r) => r.status === 200));
    assert.equal(peak, 2);
    assert.equal(counts.opened, 2);
  });

  it('a refused connection fails the exchange with ECONNREFUSED; an unanswered one times out by phase', async () => {
    const spare = net.createServer();
    const port = await listen(spare);
    await new Promise<void>((r) => spare.close(() => r()));
    await assert.rejects(upstream(port).get(), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
    const silent = await listen(net.createServer((s) => s.on('error', () => {})));
    await assert.rejects(upstream(silent, { idleTimeoutMs: 200 }).get(), (e: NodeJS.ErrnoException) => e.code === 'TARGET_HEADERS_TIMEOUT');
  });
});
