/**
 * The record a deployment leaves of which target replaced which — what lets the control plane follow a name a user
 * saw (shop-1) to the target serving in its place, through later deployments and through a rollback. The fleet
 * here is in memory: the deployer's steps are the unit; the real processes are test/blackbox/control-cli.test.ts's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deployer, type Fleet } from '../../src/control/deploy.ts';
import type { TargetState } from '../../src/gateway/cluster/health.ts';

/** `sick`: the ids that come up unhealthy whatever the release (a target that fails in the middle of a deployment). */
function memoryFleet(initial: number, sick: string[] = []) {
  let made = 0;
  const targets = new Map<string, { version: string; state: TargetState }>();
  for (let i = 0; i < initial; i++) targets.set(`shop-${++made}`, { version: 'v1', state: 'healthy' });
  const fleet: Fleet = {
    ids: () => [...targets.keys()],
    version: (id) => targets.get(id)!.version,
    async launch(version, opts) {
      const id = `shop-${++made}`;
      targets.set(id, { version, state: opts.healthy && !sick.includes(id) ? 'healthy' : 'unhealthy' });
      return id;
    },
    state: (id) => targets.get(id)?.state,
    inflight: () => 0,
    deregister: (id) => void (targets.get(id)!.state = 'draining'),
    async retire(id) {
      targets.delete(id);
    },
  };
  return { fleet, targets };
}

/** Where a name leads now, as the control plane asks: a target of the fleet exists. */
const follow = (d: Deployer, alive: Map<string, unknown>, name: string) => d.follow(name, (id) => alive.has(id));

describe('deployments record which target replaced which', () => {
  it('two deployments: shop-1 → shop-3 → shop-5, shop-2 → shop-4 → shop-6', async () => {
    const { fleet, targets } = memoryFleet(2);
    const d = new Deployer(fleet, { healthyTimeoutMs: 1000, drainTimeoutMs: 1000 });
    d.start('v2');
    await d.settled();
    d.start('v3');
    await d.settled();
    assert.deepEqual([...targets.keys()], ['shop-5', 'shop-6']);
    assert.equal(follow(d, targets, 'shop-1'), 'shop-5');
    assert.equal(follow(d, targets, 'shop-4'), 'shop-6');
    assert.deepEqual(d.formerNames('shop-6', (id) => targets.has(id)), ['shop-4', 'shop-2']);
  });

  it('a rollback is a replacement too: shop-1 → shop-3 (v2) → shop-5 (v1 again); the target that never served replaced nothing', async () => {
    // shop-3 replaces shop-1; shop-4, replacing shop-2, never becomes healthy: the deployment rolls shop-3 back.
    const { fleet, targets } = memoryFleet(2, ['shop-4']);
    const d = new Deployer(fleet, { healthyTimeoutMs: 1000, drainTimeoutMs: 1000 });
    const run = d.start('v2');
    await d.settled();
    assert.equal(run.status, 'rolled_back');
    assert.deepEqual([...targets].map(([id, t]) => `${id}/${t.version}`), ['shop-2/v1', 'shop-5/v1']);
    assert.equal(follow(d, targets, 'shop-1'), 'shop-5');
    assert.equal(follow(d, targets, 'shop-3'), 'shop-5');
    assert.equal(follow(d, targets, 'shop-2'), 'shop-2');
    assert.deepEqual(d.formerNames('shop-5', (id) => targets.has(id)), ['shop-3', 'shop-1']);
    assert.deepEqual(d.formerNames('shop-2', (id) => targets.has(id)), [], 'shop-4 never served, so replaced nothing');
  });
});
