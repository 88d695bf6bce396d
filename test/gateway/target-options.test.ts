/**
 * A target group as its template configures it, over real sockets: targets spoken to over TLS (`Protocol: HTTPS`,
 * certificates not verified, as ALB), health checks on a port and protocol of their own or turned off, weighted
 * random routing, and a drain that completes as soon as nothing is in flight.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { GatewayConfig } from '../../src/gateway/config.ts';
import { loadOrCreateCertificate } from '../../src/gateway/tls.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget } from '../support/http-target.ts';
import { eventually } from '../support/system.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

let cert: { key: string; cert: string };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-tls-target-'));
before(async () => {
  cert = await loadOrCreateCertificate(dir);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const HC = { path: '/healthz', intervalMs: 50, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 };
const config = (group: GatewayConfig['targetGroups'][number]): GatewayConfig => ({
  idleTimeoutMs: 3000,
  listeners: [{ protocol: 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: group.name }] }] }],
  targetGroups: [group],
});

/** A server that says whether the request came over TLS, and answers its health check with `health`. */
async function origin(kind: 'http' | 'https', name: string, health = 200) {
  const seen: Array<{ url: string; tls: boolean }> = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const tls = Boolean((req.socket as { encrypted?: boolean }).encrypted);
    seen.push({ url: req.url ?? '', tls });
    if (req.url === '/healthz') res.writeHead(health).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ target: name, tls }));
  };
  const server = kind === 'https' ? https.createServer(cert, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, seen };
}

describe('targets as the template configures them', () => {
  it('Protocol: HTTPS — requests and health checks reach the target over TLS (a self-signed certificate is accepted, as ALB does)', async () => {
    const o = await origin('https', 'secure');
    const g = await gatewayUnderTest(config({ name: 'secure', protocol: 'HTTPS', healthCheck: HC, targets: [{ id: 's', host: '127.0.0.1', port: o.port }] }));
    cleanup.push(() => g.close());
    const t = g.gateway.group('secure').target('s')!;
    await eventually(async () => t.state === 'healthy', 3000, 'healthy over HTTPS');
    const res = await request(g.url + '/hello');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { target: 'secure', tls: true });
    assert.ok(o.seen.filter((s) => s.url === '/healthz').every((s) => s.tls), 'health checks over TLS too');
  });

  it('Protocol: HTTPS — a WebSocket upgrade reaches the target over TLS too, through the same client as requests', async () => {
    // A TLS target that answers an upgrade and echoes what the tunnel carries.
    let upgradedOverTls: boolean | undefined;
    const server = https.createServer(cert);
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
      upgradedOverTls = Boolean((req.socket as { encrypted?: boolean }).encrypted);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const port = (server.address() as net.AddressInfo).port;
    const g = await gatewayUnderTest(config({ name: 'secure', protocol: 'HTTPS', healthCheck: { ...HC, enabled: false }, targets: [{ id: 's', host: '127.0.0.1', port }] }));
    cleanup.push(() => g.close());
    const opened = g.gateway.connections.targets.opened;
    const gatewayPort = g.gateway.ports[0]!;
    const c = net.connect(gatewayPort, '127.0.0.1');
    cleanup.push(() => void c.destroy());
    let received = '';
    c.on('data', (d: Buffer) => (received += d.toString('latin1')));
    c.write('GET /ws HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    await eventually(async () => received.includes('\r\n\r\n'), 3000, 'the answer to the upgrade');
    assert.match(received, /^HTTP\/1\.1 101 /);
    c.write('echo-over-tls');
    await eventually(async () => received.includes('echo-over-tls'), 3000, 'bytes back through the tunnel');
    assert.equal(upgradedOverTls, true, 'the target got the upgrade over TLS');
    assert.equal(g.gateway.connections.targets.opened, opened + 1, 'the tunnel is one of the connections the gateway counts to its targets');
  });

  it('Protocol: HTTPS in front of a target that speaks plain HTTP fails as ALB does: 502, blamed on the target', async () => {
    const o = await origin('http', 'plain');
    const g = await gatewayUnderTest(config({ name: 'g', protocol: 'HTTPS', healthCheck: { ...HC, enabled: false }, targets: [{ id: 'p', host: '127.0.0.1', port: o.port }] }));
    cleanup.push(() => g.close());
    const res = await request(g.url + '/x');
    await res.body.dump();
    assert.equal(res.statusCode, 502);
    assert.notEqual((await g.logFor('/x')).target, '-', 'the target is named: it is the one that could not speak TLS');
  });

  it('HealthCheckPort / HealthCheckProtocol: the check goes where the group says, not to the traffic port', async () => {
    const traffic = await origin('http', 'app', 503); // its own /healthz fails
    const sidecar = await origin('https', 'sidecar', 200);
    const g = await gatewayUnderTest(config({ name: 'g', healthCheck: { ...HC, port: sidecar.port, protocol: 'HTTPS' }, targets: [{ id: 'a', host: '127.0.0.1', port: traffic.port }] }));
    cleanup.push(() => g.close());
    const t = g.gateway.group('g').target('a')!;
    await eventually(async () => t.state === 'healthy', 3000, 'healthy by the sidecar');
    assert.equal(traffic.seen.filter((s) => s.url === '/healthz').length, 0, 'the traffic port is never checked');
    assert.ok(sidecar.seen.some((s) => s.url === '/healthz' && s.tls));
    assert.deepEqual(await (await request(g.url + '/x')).body.json(), { target: 'app', tls: false });
  });

  it('HealthCheckEnabled: false — targets are `unavailable` (Target.HealthCheckDisabled), never checked, and get traffic', async () => {
    const a = await origin('http', 'a', 500);
    const g = await gatewayUnderTest(config({ name: 'g', healthCheck: { ...HC, enabled: false }, targets: [{ id: 'a', host: '127.0.0.1', port: a.port }] }));
    cleanup.push(() => g.close());
    const t = g.gateway.group('g').target('a')!;
    assert.equal(t.state, 'unavailable');
    assert.equal(t.reason, 'Target.HealthCheckDisabled');
    assert.deepEqual(await (await request(g.url + '/x')).body.json(), { target: 'a', tls: false });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.seen.filter((s) => s.url === '/healthz').length, 0);
  });

  it('weighted_random: every healthy target gets traffic', async () => {
    const [a, b] = [await httpTarget('a'), await httpTarget('b')];
    cleanup.push(() => a.close(), () => b.close());
    const g = await gatewayUnderTest(config({ name: 'g', algorithm: 'weighted_random', healthCheck: HC, targets: [{ id: 'a', host: '127.0.0.1', port: a.port }, { id: 'b', host: '127.0.0.1', port: b.port }] }));
    cleanup.push(() => g.close());
    const group = g.gateway.group('g');
    await eventually(async () => group.targets.every((t) => t.state === 'healthy'), 3000, 'both healthy');
    for (let i = 0; i < 60; i++) await (await request(g.url + '/x')).body.dump();
    assert.ok(a.served > 5 && b.served > 5, `a ${a.served}, b ${b.served}`);
  });

  it('a drain completes at once when nothing is in flight; with a request in flight it waits for it', async () => {
    const a = await httpTarget('a');
    cleanup.push(() => a.close());
    const g = await gatewayUnderTest(config({ name: 'g', deregistrationDelayMs: 60_000, healthCheck: HC, targets: [{ id: 'a', host: '127.0.0.1', port: a.port }] }));
    cleanup.push(() => g.close());
    const group = g.gateway.group('g');
    await eventually(async () => group.target('a')!.state === 'healthy', 3000, 'healthy');
    // A slow request in flight: the drain waits for it, far less than the 60 s delay.
    a.delayMs = 300;
    const slow = request(g.url + '/slow');
    await eventually(async () => group.target('a')!.inflight === 1, 2000, 'in flight');
    assert.equal(group.deregister('a')!.state, 'draining');
    assert.equal((await (await slow).body.json() as { target: string }).target, 'a', 'the request in flight finished');
    await eventually(async () => group.target('a')!.state === 'unused', 2000, 'unused once the last request ended');
    // Registered again and drained with nothing in flight: draining, then unused on the next turn.
    group.register('a', '127.0.0.1', a.port);
    await eventually(async () => group.target('a')!.state === 'healthy', 3000, 'healthy again');
    assert.equal(group.deregister('a')!.state, 'draining');
    await eventually(async () => group.target('a')!.state === 'unused', 500, 'unused at once');
  });
});
