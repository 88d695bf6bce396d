/**
 * Rolling deployment ("deployment in progress", a source of 503s, done right): under steady load through the
 * gateway — reads and orders on keep-alive connections — every target process is replaced one at a time and not one
 * request is lost or answered 5xx. A release that fails its health checks stops the deployment and rolls it back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { eventually, fastHealthChecks, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

let t: SystemUnderTest;
let alice: Record<string, string>;
before(async () => {
  t = await systemUnderTest({ TARGETS: '2', RATE_LIMIT: '1000000' }, { gatewayConfig: fastHealthChecks({ deregistrationDelayMs: 5000 }) });
  alice = await t.bearer('alice');
});
after(() => t.stop());

interface Load {
  stop(): Promise<{ sent: number; statuses: Map<number, number>; errors: string[] }>;
}

/** Clients sending reads and orders back to back over keep-alive connections until stopped. */
function steadyLoad(workers: number): Load {
  const dispatcher = new Agent({ connections: workers, keepAliveTimeout: 30_000 });
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  let sent = 0;
  let running = true;
  const loop = async (w: number) => {
    for (let i = 0; running; i++) {
      const order = i % 4 === 0;
      try {
        const res = await request(t.system.url + (order ? '/orders' : '/products/42'), {
          dispatcher,
          method: order ? 'POST' : 'GET',
          headers: order ? { ...alice, 'content-type': 'application/json' } : {},
          ...(order ? { body: JSON.stringify({ product_id: 42, quantity: 1, payment_token: 'tok_abc', reference: `deploy-${w}-${i}-${Date.now()}` }) } : {}),
        });
        await res.body.dump();
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      } catch (e) {
        sent++;
        errors.push((e as Error).message);
      }
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  return {
    async stop() {
      running = false;
      await all;
      await dispatcher.close();
      return { sent, statuses, errors };
    },
  };
}

const targets = async () => (await t.control('GET', '/targets')).json() as Array<{ id: string; state: string; version?: string; process: string }>;

async function follow(location: string): Promise<{ status: string; events: Array<{ event: string }>; reason?: string }> {
  let d;
  await eventually(async () => {
    d = (await t.control('GET', location)).json();
    return d.status === 'succeeded' || d.status === 'rolled_back';
  }, 90_000, 'the deployment to finish');
  return d!;
}

describe('rolling deployment', () => {
  it('replaces every target one at a time under steady load: zero requests lost, no 5xx', async () => {
    await eventually(async () => (await targets()).every((x) => x.state === 'healthy'), 10_000, 'healthy targets');
    const before = (await targets()).map((x) => x.id);
    const load = steadyLoad(8);
    await new Promise((r) => setTimeout(r, 500));
    const started = await t.control('POST', '/deploy', { version: 'v2' });
    assert.equal(started.statusCode, 202);
    const location = String(started.headers.location);
    assert.match(location, /^\/deploys\/[0-9a-f-]{36}$/);
    assert.equal(started.headers['retry-after'], '1');
    // One at a time: a second deployment meanwhile is a conflict that points at the first.
    const second = await t.control('POST', '/deploy', { version: 'v3' });
    assert.equal(second.statusCode, 409);
    assert.equal(second.headers.location, location);
    const done = await follow(location);
    await new Promise((r) => setTimeout(r, 300));
    const result = await load.stop();
    assert.equal(done.status, 'succeeded', JSON.stringify(done.events));
    assert.deepEqual(result.errors, [], 'no request lost');
    const bad = [...result.statuses].filter(([s]) => s >= 500);
    assert.deepEqual(bad, [], `statuses: ${JSON.stringify([...result.statuses])}`);
    assert.ok(result.sent > 100, `${result.sent} requests during the deployment`);
    const now = await targets();
    assert.equal(now.length, 2);
    assert.ok(now.every((x) => x.version === 'v2' && x.process === 'running' && !before.includes(x.id)), JSON.stringify(now));
    // The order of the steps, as ECS does it: the new one healthy before the old one drains.
    const events = done.events.map((e) => e.event);
    const healthyAt = events.findIndex((e) => /is healthy/.test(e));
    const drainAt = events.findIndex((e) => /draining/.test(e));
    assert.ok(healthyAt >= 0 && healthyAt < drainAt, events.join('\n'));
  });

  it('a release that never becomes healthy: the deployment stops, rolls back, and traffic never notices', async () => {
    const before = await targets();
    const load = steadyLoad(4);
    const started = await t.control('POST', '/deploy', { version: 'v3-bad', healthy: false });
    assert.equal(started.statusCode, 202);
    const done = await follow(String(started.headers.location));
    const result = await load.stop();
    assert.equal(done.status, 'rolled_back');
    assert.match(done.reason ?? '', /did not become healthy/);
    assert.deepEqual(result.errors, []);
    assert.deepEqual([...result.statuses].filter(([s]) => s >= 500), []);
    const now = await targets();
    assert.deepEqual(now.map((x) => `${x.id}/${x.version}`), before.map((x) => `${x.id}/${x.version}`));
  });

  it('`receipt deploy` drives it from the command line: each step printed, exit 0; --unhealthy exits 1 after the rollback', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/receipt.js', 'deploy', '--control-url', t.system.controlUrl, ...args], {
          env: { ...process.env, CONTROL_TOKEN: t.system.controlToken, NO_COLOR: '1' },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => resolve({ code, out, err }));
      });
    const ok = await run(['--version', 'v4']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /is healthy and takes traffic/);
    assert.match(ok.out, /drained and stopped/);
    assert.match(ok.err, /deployed v4/);
    assert.ok((await targets()).every((x) => x.version === 'v4'));
    const bad = await run(['--version', 'v5', '--unhealthy']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /rolled back to v4/);
  });

  it('bad input: an unknown field or a bad version is a 400 problem; an unknown deployment is 404', async () => {
    const bad = await t.control('POST', '/deploy', { version: 'no spaces allowed' });
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /application\/problem\+json/);
    assert.equal((await t.control('POST', '/deploy', { colour: 'blue' })).statusCode, 400);
    assert.equal((await t.control('GET', '/deploys/nope')).statusCode, 404);
  });
});
