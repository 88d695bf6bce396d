/** The fast counters and histograms expose exactly what prom-client's own would for the same updates. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../../src/server/metrics.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];

describe('FastCounter and FastHistogram', () => {
  it('the same updates give the same exposition text as prom-client (any labels, values, order)', async () => {
    const update = fc.record({ route: fc.constantFrom('/a', '/b/:id', 'unmatched'), status: fc.constantFrom('200', '404', '500'), value: fc.double({ min: 0, max: 20, noNaN: true }), by: fc.integer({ min: 1, max: 5 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(update, { maxLength: 40 }), async (updates) => {
        const [ours, theirs] = [new Registry(), new Registry()];
        const c1 = new FastCounter({ name: 'x_total', help: 'h', labelNames: ['route', 'status'], registers: [ours] });
        const h1 = new FastHistogram({ name: 'x_seconds', help: 'h', labelNames: ['route'], buckets: BUCKETS, registers: [ours] });
        const u1 = new FastCounter({ name: 'y_total', help: 'h', registers: [ours] });
        const q1 = new FastHistogram({ name: 'y_seconds', help: 'h', buckets: BUCKETS, registers: [ours] });
        const c2 = new Counter({ name: 'x_total', help: 'h', labelNames: ['route', 'status'], registers: [theirs] });
        const h2 = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] });
        const u2 = new Counter({ name: 'y_total', help: 'h', registers: [theirs] });
        const q2 = new Histogram({ name: 'y_seconds', help: 'h', buckets: BUCKETS, registers: [theirs] });
        for (const { route, status, value, by } of updates) {
          c1.series({ route, status }).inc(by);
          c2.inc({ route, status }, by);
          h1.observe({ route }, value);
          h2.observe({ route }, value);
          u1.inc({}, by);
          u2.inc(by);
          q1.series().observe(value);
          q2.observe(value);
        }
        assert.equal(await ours.metrics(), await theirs.metrics());
      }),
      { numRuns: 60 },
    );
  });

  it('a value on a bucket bound counts in that bucket (le is inclusive); an unknown label is refused', async () => {
    const r = new Registry();
    const h = new FastHistogram({ name: 'z_seconds', help: 'h', buckets: [1, 2], registers: [r] });
    h.observe({}, 1);
    h.observe({}, 2.5);
    const text = await r.metrics();
    assert.match(text, /z_seconds_bucket\{le="1"\} 1\n/);
    assert.match(text, /z_seconds_bucket\{le="2"\} 1\n/);
    assert.match(text, /z_seconds_bucket\{le="\+Inf"\} 2\n/);
    const c = new FastCounter({ name: 'w_total', help: 'h', labelNames: ['a'], registers: [r] });
    assert.throws(() => c.inc({ b: 'x' } as never), /has no label b/);
    // A series kept across a registry reset keeps counting into the metric.
    const kept = c.series({ a: 'x' });
    kept.inc(5);
    r.resetMetrics();
    kept.inc(2);
    assert.match(await r.metrics(), /w_total\{a="x"\} 2\n/);
  });
});
