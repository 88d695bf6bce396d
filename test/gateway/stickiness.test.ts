/**
 * Sticky sessions as ALB keeps them (AWS, "Sticky sessions for your Application Load Balancer"), over real sockets:
 * the AWSALB / AWSALBCORS cookies of duration-based stickiness, AWSALBAPP-0 once the application sets its own
 * cookie, AWSALBTG for a weighted forward's target-group stickiness; a forged cookie ignored; and a session moved
 * (with a new cookie) when its target turns unhealthy or drains.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { request } from 'undici';
import type { GatewayConfig } from '../../src/gateway/config.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { eventually } from '../support/system.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A target that names itself, sets the app's `SESSIONID` on /login, and answers its health check with `health`. */
async function origin(name: string) {
  const o = { name, port: 0, health: 200 };
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') return void res.writeHead(o.health).end();
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
    if (req.url === '/login') headers['set-cookie'] = ['SESSIONID=abc; Path=/'];
    res.writeHead(200, headers).end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  o.port = (server.address() as net.AddressInfo).port;
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return o;
}

const HC = { path: '/healthz', intervalMs: 50, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 };

async function setup(groups: GatewayConfig['targetGroups'], action: Extract<GatewayConfig['listeners'][number]['defaultActions'][number], { type: 'forward' }>) {
  const g = await gatewayUnderTest({ idleTimeoutMs: 3000, listeners: [{ protocol: 'HTTP', port: 0, defaultActions: [action] }], targetGroups: groups });
  cleanup.push(() => g.close());
  for (const group of g.gateway.groups.values()) await eventually(async () => group.targets.every((t) => t.state === 'healthy'), 3000, 'healthy');
  return g;
}

/** One request with these cookies: who answered, and the Set-Cookie fields as name → full value. */
async function get(url: string, cookies: Record<string, string> = {}) {
  const cookie = Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await request(url, { headers: cookie ? { cookie } : {} });
  const body = await res.body.text();
  const raw = res.headers['set-cookie'];
  const set = Object.fromEntries((Array.isArray(raw) ? raw : raw ? [raw] : []).map((c) => [c.slice(0, c.indexOf('=')), c]));
  return { body, set, value: (name: string) => set[name]?.slice(name.length + 1).split(';')[0] };
}

describe('duration-based stickiness (lb_cookie)', () => {
  it('AWSALB and AWSALBCORS name the target; with them every request goes there, without them round robin', async () => {
    const [a, b] = [await origin('a'), await origin('b')];
    const g = await setup([{ name: 'web', healthCheck: HC, stickiness: { type: 'lb_cookie', durationMs: 3_600_000 }, targets: [{ id: 'a', host: '127.0.0.1', port: a.port }, { id: 'b', host: '127.0.0.1', port: b.port }] }], { type: 'forward', targetGroups: [{ name: 'web' }] });
    const first = await get(g.url + '/');
    assert.match(first.set.AWSALB!, /^AWSALB=[^;]+; Expires=[^;]+ GMT; Path=\/$/);
    assert.match(first.set.AWSALBCORS!, /; Path=\/; SameSite=None; Secure$/);
    assert.equal(first.value('AWSALB'), first.value('AWSALBCORS'));
    const expires = Date.parse(/Expires=([^;]+)/.exec(first.set.AWSALB!)![1]!);
    assert.ok(Math.abs(expires - (Date.now() + 3_600_000)) < 5000, 'the cookie lives for the stickiness duration');
    assert.ok(!first.value('AWSALB')!.includes('127.0.0.1'), 'the value does not show the target');
    const answers = new Set<string>();
    for (let i = 0; i < 10; i++) answers.add((await get(g.url + '/', { AWSALB: first.value('AWSALB')! })).body);
    assert.deepEqual([...answers], [first.body]);
    const free = new Set<string>();
    for (let i = 0; i < 6; i++) free.add((await get(g.url + '/')).body);
    assert.deepEqual([...free].sort(), ['a', 'b']);
    // A value the gateway did not make is ignored, as ALB ignores a cookie it cannot decrypt.
    const forged = new Set<string>();
    for (let i = 0; i < 6; i++) forged.add((await get(g.url + '/', { AWSALB: Buffer.from('web\nb').toString('base64url') + '.xyz' })).body);
    assert.deepEqual([...forged].sort(), ['a', 'b']);
  });

  it('when the sticky target turns unhealthy or drains, the session moves and the new cookie names the new target', async () => {
    const [a, b] = [await origin('a'), await origin('b')];
    const g = await setup([{ name: 'web', healthCheck: HC, stickiness: { type: 'lb_cookie', durationMs: 60_000 }, targets: [{ id: 'a', host: '127.0.0.1', port: a.port }, { id: 'b', host: '127.0.0.1', port: b.port }] }], { type: 'forward', targetGroups: [{ name: 'web' }] });
    let cookie = '';
    for (;;) {
      const r = await get(g.url + '/');
      if (r.body === 'a') {
        cookie = r.value('AWSALB')!;
        break;
      }
    }
    a.health = 503;
    const group = g.gateway.group('web');
    await eventually(async () => group.target('a')!.state === 'unhealthy', 3000, 'a unhealthy');
    const moved = await get(g.url + '/', { AWSALB: cookie });
    assert.equal(moved.body, 'b');
    assert.notEqual(moved.value('AWSALB'), cookie);
    for (let i = 0; i < 5; i++) assert.equal((await get(g.url + '/', { AWSALB: moved.value('AWSALB')! })).body, 'b');
    // Draining likewise: no new requests for a deregistering target, sticky or not.
    a.health = 200;
    await eventually(async () => group.target('a')!.state === 'healthy', 3000, 'a healthy again');
    group.deregister('b');
    assert.equal((await get(g.url + '/', { AWSALB: moved.value('AWSALB')! })).body, 'a');
  });
});

describe('application-based stickiness (app_cookie)', () => {
  it('no AWSALBAPP until the application sets its cookie; then AWSALBAPP-0 (and -1…-3 removed) keeps the session on its target', async () => {
    const [a, b] = [await origin('a'), await origin('b')];
    const g = await setup(
      [{ name: 'web', healthCheck: HC, stickiness: { type: 'app_cookie', durationMs: 600_000, cookieName: 'SESSIONID' }, targets: [{ id: 'a', host: '127.0.0.1', port: a.port }, { id: 'b', host: '127.0.0.1', port: b.port }] }],
      { type: 'forward', targetGroups: [{ name: 'web' }] },
    );
    const plain = await get(g.url + '/');
    assert.deepEqual(Object.keys(plain.set), []);
    const login = await get(g.url + '/login');
    assert.ok(login.set.SESSIONID, 'the application’s own cookie passes');
    assert.match(login.set['AWSALBAPP-0']!, /^AWSALBAPP-0=[^;]+; Expires=[^;]+; Path=\/$/);
    for (const i of [1, 2, 3]) assert.match(login.set[`AWSALBAPP-${i}`]!, /^AWSALBAPP-\d=_remove_; /);
    for (let i = 0; i < 8; i++) assert.equal((await get(g.url + '/', { SESSIONID: 'abc', 'AWSALBAPP-0': login.value('AWSALBAPP-0')! })).body, login.body);
  });
});

describe('target-group stickiness (a weighted forward)', () => {
  it('AWSALBTG keeps a client on the group it was first sent to', async () => {
    const [a, b] = [await origin('a'), await origin('b')];
    const g = await setup(
      [
        { name: 'blue', healthCheck: HC, targets: [{ id: 'a', host: '127.0.0.1', port: a.port }] },
        { name: 'green', healthCheck: HC, targets: [{ id: 'b', host: '127.0.0.1', port: b.port }] },
      ],
      { type: 'forward', targetGroups: [{ name: 'blue', weight: 50 }, { name: 'green', weight: 50 }], stickinessDurationMs: 300_000 },
    );
    const first = await get(g.url + '/');
    assert.match(first.set.AWSALBTG!, /; Path=\/$/);
    assert.match(first.set.AWSALBTGCORS!, /SameSite=None; Secure$/);
    for (let i = 0; i < 12; i++) assert.equal((await get(g.url + '/', { AWSALBTG: first.value('AWSALBTG')! })).body, first.body);
    const free = new Set<string>();
    for (let i = 0; i < 40 && free.size < 2; i++) free.add((await get(g.url + '/')).body);
    assert.deepEqual([...free].sort(), ['a', 'b'], 'without the cookie both groups get requests');
  });
});
