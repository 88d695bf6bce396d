/**
 * Target-group behaviour (AWS, "Target groups for your Application Load Balancers", "Health checks for your target groups"): health-state transitions with thresholds, fail-open, draining under load,
 * weighted forwarding and the two algorithms — against real HTTP targets on loopback.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { request } from 'undici';
import type { GatewayConfig } from '../../src/gateway/config.ts';
import { eventually } from '../support/system.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
after(() => {});

function config(groups: GatewayConfig['targetGroups'], defaultGroups = [{ name: 'shop' }] as Array<{ name: string; weight?: number }>): GatewayConfig {
  return {
    idleTimeoutMs: 2000,
    listeners: [{ protocol: 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: defaultGroups }] }],
    targetGroups: groups,
  };
}
const FAST_HC = { path: '/healthz', intervalMs: 50, timeoutMs: 40, healthyThreshold: 3, unhealthyThreshold: 2, matcher: '200' };

async function setup(n: number, groups: GatewayConfig['targetGroups'], defaultGroups?: Array<{ name: string; weight?: number }>) {
  const gw = await gatewayUnderTest(config(groups, defaultGroups));
  cleanup.push(() => gw.close());
  const targets: HttpTarget[] = [];
  for (let i = 0; i < n; i++) {
    const t = await httpTarget(`t${i}`);
    targets.push(t);
    cleanup.push(() => t.close());
  }
  return { gw, targets };
}

const get = async (url: string) => {
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, body: res.statusCode === 200 ? (JSON.parse(text) as { target: string }) : undefined, headers: res.headers };
};

describe('health checks over real sockets', () => {
  it('initial → healthy after one pass; healthy → unhealthy after the unhealthy threshold; back after the healthy threshold', async () => {
    const { gw, targets } = await setup(1, [{ name: 'shop', healthCheck: FAST_HC }]);
    const t = targets[0]!;
    const group = gw.gateway.group('shop');
    const target = group.register('t0', '127.0.0.1', t.port);
    const states: string[] = [target.state];
    group.onStateChange((x) => states.push(x.state));
    await eventually(async () => target.state === 'healthy', 2000, 'healthy');
    assert.equal(t.healthChecks[0]!['user-agent'], 'ELB-HealthChecker/2.0');
    assert.equal(t.healthChecks[0]!.host, `127.0.0.1:${t.port}`);
    t.health = 503;
    await eventually(async () => target.state === 'unhealthy', 2000, 'unhealthy');
    assert.equal(target.reason, 'Target.ResponseCodeMismatch');
    assert.ok(target.health.failStreak >= 2);
    t.health = 200;
    await eventually(async () => target.state === 'healthy', 2000, 'healthy again');
    assert.ok(target.health.okStreak >= 3, 'needed the healthy threshold of consecutive passes');
    assert.deepEqual(states, ['initial', 'healthy', 'unhealthy', 'healthy']);
  });

  it('a matcher range accepts what it names', async () => {
    const { gw, targets } = await setup(1, [{ name: 'shop', healthCheck: { ...FAST_HC, matcher: '200-299,404' } }]);
    targets[0]!.health = 404;
    const target = gw.gateway.group('shop').register('t0', '127.0.0.1', targets[0]!.port);
    await eventually(async () => target.state === 'healthy', 2000, 'healthy on 404');
  });
});

describe('routing', () => {
  it('unhealthy targets get no traffic while a healthy one exists; when all are unhealthy the group fails open', async () => {
    const { gw, targets } = await setup(2, [{ name: 'shop', healthCheck: FAST_HC }]);
    const group = gw.gateway.group('shop');
    const [a, b] = [group.register('t0', '127.0.0.1', targets[0]!.port), group.register('t1', '127.0.0.1', targets[1]!.port)];
    await eventually(async () => a.state === 'healthy' && b.state === 'healthy', 2000, 'both healthy');
    targets[1]!.health = 500;
    await eventually(async () => b.state === 'unhealthy', 2000, 't1 unhealthy');
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add((await get(gw.url)).body!.target);
    assert.deepEqual([...seen], ['t0']);
    targets[0]!.health = 500;
    await eventually(async () => a.state === 'unhealthy', 2000, 't0 unhealthy');
    seen.clear();
    for (let i = 0; i < 10; i++) {
      const r = await get(gw.url);
      assert.equal(r.status, 200, 'fail-open: still routed, not 503');
      seen.add(r.body!.target);
    }
    assert.deepEqual([...seen].sort(), ['t0', 't1']);
  });

  it('round robin spreads evenly; least outstanding requests avoids the busy target', async () => {
    const { gw, targets } = await setup(2, [
      { name: 'shop', healthCheck: FAST_HC },
      { name: 'lor', algorithm: 'least_outstanding_requests', healthCheck: FAST_HC },
    ]);
    const rr = gw.gateway.group('shop');
    rr.register('t0', '127.0.0.1', targets[0]!.port);
    rr.register('t1', '127.0.0.1', targets[1]!.port);
    await eventually(async () => rr.targets.every((t) => t.state === 'healthy'), 2000, 'healthy');
    for (let i = 0; i < 20; i++) await get(gw.url);
    assert.equal(targets[0]!.served, 10);
    assert.equal(targets[1]!.served, 10);

    const lor = gw.gateway.group('lor');
    const [slow, fast] = [lor.register('slow', '127.0.0.1', targets[0]!.port), lor.register('fast', '127.0.0.1', targets[1]!.port)];
    await eventually(async () => slow.state === 'healthy' && fast.state === 'healthy', 2000, 'healthy');
    // Two requests held open on `slow` (tracked as the proxy tracks them); LOR must send the next ones to `fast`.
    const held = [slow.begin(() => {}), slow.begin(() => {})];
    const picks = Array.from({ length: 5 }, () => lor.choose()!.id);
    for (const h of held) slow.end(h);
    assert.equal(slow.inflight, 0);
    // Ended in any order, once or twice, each request leaves the count once; the rest can still be aborted.
    const aborted: string[] = [];
    const three = ['a', 'b', 'c'].map((name) => slow.begin(() => aborted.push(name)));
    slow.end(three[0]!);
    slow.end(three[0]!);
    assert.equal(slow.inflight, 2);
    slow.abortAll(new Error('drained'));
    assert.deepEqual(aborted.sort(), ['b', 'c']);
    for (const r of three) slow.end(r);
    assert.equal(slow.inflight, 0);
    assert.deepEqual(picks, ['fast', 'fast', 'fast', 'fast', 'fast']);
  });

  it('weighted target groups split traffic by weight (10/30 ⇒ 1:3)', async () => {
    const { gw, targets } = await setup(
      2,
      [
        { name: 'blue', healthCheck: FAST_HC },
        { name: 'green', healthCheck: FAST_HC },
      ],
      [
        { name: 'blue', weight: 10 },
        { name: 'green', weight: 30 },
      ],
    );
    gw.gateway.group('blue').register('t0', '127.0.0.1', targets[0]!.port);
    gw.gateway.group('green').register('t1', '127.0.0.1', targets[1]!.port);
    await eventually(async () => [...gw.gateway.groups.values()].every((g) => g.targets[0]!.state === 'healthy'), 2000, 'healthy');
    const N = 800;
    for (let i = 0; i < N; i++) await get(gw.url);
    const share = targets[1]!.served / N;
    // Binomial(800, 0.75): a standard deviation of ~1.5 points; ±6 points is about four of them.
    assert.ok(share > 0.69 && share < 0.81, `green got ${(share * 100).toFixed(1)}%`);
  });
});

describe('draining (deregistration delay, AWS target groups → "Deregistration delay")', () => {
  it('under load, draining one target fails no request: in-flight ones finish, new ones go elsewhere', async () => {
    const { gw, targets } = await setup(2, [{ name: 'shop', deregistrationDelayMs: 2000, healthCheck: FAST_HC }]);
    const group = gw.gateway.group('shop');
    group.register('t0', '127.0.0.1', targets[0]!.port);
    group.register('t1', '127.0.0.1', targets[1]!.port);
    await eventually(async () => group.targets.every((t) => t.state === 'healthy'), 2000, 'healthy');
    for (const t of targets) t.delayMs = 50;
    let stop = false;
    const statuses: number[] = [];
    const after: string[] = [];
    let drained = false;
    const worker = async () => {
      while (!stop) {
        // Judged by when the request was sent: an answer t0 finished just before may still be on its way back.
        const sentAfterDraining = drained;
        const r = await get(gw.url);
        statuses.push(r.status);
        if (sentAfterDraining && r.body) after.push(r.body.target);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // Conditions, not clocks: both targets busy; then t0's last requests done; then traffic that only t1 can serve.
    await eventually(async () => targets[0]!.served >= 10 && targets[1]!.served >= 10, 5000, 'both targets serving');
    const target = group.deregister('t0')!;
    assert.equal(target.state, 'draining');
    await eventually(async () => target.inflight === 0, 5000, "the requests already on t0 finished");
    drained = true;
    await eventually(async () => after.length >= 20, 5000, 'twenty answers after draining began');
    stop = true;
    await Promise.all(workers);
    assert.ok(statuses.length > 50, `${statuses.length} requests`);
    assert.deepEqual([...new Set(statuses)], [200], 'no failed request');
    assert.ok(after.length > 0 && after.every((t) => t === 't1'), 'after draining began, only t1 served');
    await eventually(async () => target.state === 'unused', 3000, 'unused after the delay');
  });

  it('a request still running when the delay ends gets 502; nothing registered then means 503', async () => {
    const { gw, targets } = await setup(1, [{ name: 'shop', deregistrationDelayMs: 200, healthCheck: FAST_HC }]);
    const group = gw.gateway.group('shop');
    const t = group.register('t0', '127.0.0.1', targets[0]!.port);
    await eventually(async () => t.state === 'healthy', 2000, 'healthy');
    targets[0]!.delayMs = 1000;
    const slow = get(gw.url);
    await eventually(async () => t.inflight === 1, 2000, 'the slow request reached t0');
    group.deregister('t0');
    assert.equal((await slow).status, 502);
    const log = await gw.logFor('/');
    assert.equal(log.errorReason, 'DeregistrationDelayElapsed');
    assert.equal((await get(gw.url)).status, 503);
  });
});

describe('forwarding headers (AWS, "HTTP headers and Application Load Balancers")', () => {
  it('X-Forwarded-For appended, Proto and Port set, a trace id kept with Self added, hop-by-hop removed', async () => {
    const { gw, targets } = await setup(1, [{ name: 'shop', healthCheck: FAST_HC }]);
    const t = gw.gateway.group('shop').register('t0', '127.0.0.1', targets[0]!.port);
    await eventually(async () => t.state === 'healthy', 2000, 'healthy');
    // A raw request: HTTP clients do not let a caller set Connection to name other fields.
    await new Promise<void>((resolve) => {
      const s = net.connect(gw.port, '127.0.0.1', () =>
        s.write(
          'GET /x HTTP/1.1\r\nHost: SHOP\r\nX-Forwarded-For: 203.0.113.7\r\nX-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678\r\n' +
            'Connection: close, X-Secret\r\nX-Secret: s\r\nTE: trailers\r\n\r\n',
        ),
      );
      s.on('data', () => {});
      s.on('close', () => resolve());
    });
    const h = targets[0]!.lastHeaders!;
    assert.equal(h.host, `shop:${gw.port}`, 'Host lower-cased, the listener port added');
    assert.equal(h['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-port'], String(gw.port));
    assert.match(String(h['x-amzn-trace-id']), /^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-67891233-abcdef012345678912345678$/);
    assert.equal(h['x-secret'], undefined, 'a header named by Connection is hop-by-hop');
    assert.equal(h.te, undefined);
    const fresh = await request(gw.url + '/y');
    await fresh.body.dump();
    assert.match(String(targets[0]!.lastHeaders!['x-amzn-trace-id']), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });
});
