/**
 * The routing algorithms as pure choices (balancer.ts): round robin in turn, slow start's linear ramp as an exact
 * share, least outstanding requests, weighted random — no sockets, no timers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createBalancer, slowStartShare, type Candidate } from '../../src/gateway/cluster/balancer.ts';

const target = (name: string, inflight = 0, healthySince: number | undefined = 0): Candidate & { name: string } => ({ name, inflight, healthySince });
const count = (picks: Array<{ name: string }>) => picks.reduce<Record<string, number>>((n, p) => ({ ...n, [p.name]: (n[p.name] ?? 0) + 1 }), {});

describe('round robin', () => {
  it('takes each candidate in turn', () => {
    const b = createBalancer<ReturnType<typeof target>>({ algorithm: 'round_robin', slowStartMs: 0 });
    const c = [target('a'), target('b'), target('c')];
    assert.deepEqual(Array.from({ length: 6 }, () => b.pick(c, 1000).name), ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('slow start: a target healthy for a quarter of the duration gets a quarter share, spread out', () => {
    const b = createBalancer<ReturnType<typeof target>>({ algorithm: 'round_robin', slowStartMs: 40_000 });
    const now = 100_000;
    const c = [target('warm', 0, 0), target('new', 0, now - 10_000)];
    const picks = Array.from({ length: 125 }, () => b.pick(c, now));
    assert.deepEqual(count(picks), { warm: 100, new: 25 });
    // Never two picks of the ramping target in a row at a quarter share.
    assert.ok(picks.every((p, i) => p.name !== 'new' || picks[i + 1]?.name !== 'new'));
  });

  it('slow start: the share grows with time and is whole once the duration has passed', () => {
    assert.equal(slowStartShare(target('x', 0, 0), 30_000, 15_000), 0.5);
    assert.equal(slowStartShare(target('x', 0, 0), 30_000, 30_000), 1);
    assert.equal(slowStartShare({ inflight: 0, healthySince: undefined }, 30_000, 1), 1, 'not healthy: no ramp (fail-open traffic is not slowed)');
    assert.ok(slowStartShare(target('x', 0, 0), 30_000, 0) > 0, 'a new target is never starved outright');
  });

  it('slow start: when every target is new, all get the same share (a group needs one warm target to ramp against)', () => {
    const b = createBalancer<ReturnType<typeof target>>({ algorithm: 'round_robin', slowStartMs: 60_000 });
    const c = [target('a', 0, 990), target('b', 0, 999)];
    assert.deepEqual(count(Array.from({ length: 10 }, () => b.pick(c, 1000))), { a: 5, b: 5 });
  });

  it('property: over any shares, each candidate’s count stays within one round of its exact share', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 6 }), fc.integer({ min: 50, max: 400 }), (percents, n) => {
        const duration = 100_000;
        const now = 1_000_000;
        // The first is warm; the others are part-way through their ramp.
        const c = percents.map((p, i) => ({ name: String(i), inflight: 0, healthySince: i === 0 ? 0 : now - (duration * p) / 100 }));
        const shares = c.map((x) => slowStartShare(x, duration, now));
        const total = shares.reduce((a, b) => a + b, 0);
        const b = createBalancer<(typeof c)[number]>({ algorithm: 'round_robin', slowStartMs: duration });
        const got = count(Array.from({ length: n }, () => b.pick(c, now)));
        return c.every((x, i) => Math.abs((got[x.name] ?? 0) - (n * shares[i]!) / total) <= c.length);
      }),
    );
  });
});

describe('least outstanding requests', () => {
  it('the fewest in flight; the first on a tie', () => {
    const b = createBalancer<ReturnType<typeof target>>({ algorithm: 'least_outstanding_requests', slowStartMs: 0 });
    assert.equal(b.pick([target('a', 3), target('b', 1), target('c', 1)], 0).name, 'b');
    assert.equal(b.pick([target('a', 0), target('b', 0)], 0).name, 'a');
  });
});

describe('weighted random', () => {
  it('the candidate the random number points at', () => {
    const rolls = [0.1, 0.5, 0.99];
    const b = createBalancer<ReturnType<typeof target>>({ algorithm: 'weighted_random', slowStartMs: 0, random: () => rolls.shift()! });
    const c = [target('a'), target('b'), target('c')];
    assert.deepEqual([b.pick(c, 0).name, b.pick(c, 0).name, b.pick(c, 0).name], ['a', 'b', 'c']);
  });

  it('spreads evenly with Math.random', () => {
    const b = createBalancer<ReturnType<typeof target>>({ algorithm: 'weighted_random', slowStartMs: 0 });
    const c = [target('a'), target('b'), target('c')];
    const got = count(Array.from({ length: 3000 }, () => b.pick(c, 0)));
    for (const name of ['a', 'b', 'c']) assert.ok(got[name]! > 800 && got[name]! < 1200, JSON.stringify(got));
  });
});
