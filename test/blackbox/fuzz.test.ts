/**
 * Fuzzing from the contract (src/scenarios/fuzz.ts), through the gateway of the started system: 5,000 requests drawn
 * from the OpenAPI document — valid, boundary and mutated — and every answer judged. `npm run soak` sends 100,000.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFuzz } from '../../src/scenarios/fuzz.ts';
import { systemUnderTest, type SystemUnderTest } from '../support/system.ts';

let t: SystemUnderTest;
before(async () => {
  t = await systemUnderTest({ TARGETS: '2', RATE_LIMIT: '10000000' });
});
after(() => t.stop());

describe('fuzzing from the OpenAPI document', () => {
  it('5,000 generated requests: no 5xx, every 4xx a problem, nothing internal, every status documented', async () => {
    const tokens = [(await t.bearer('alice')).authorization!.slice(7), (await t.bearer('admin')).authorization!.slice(7)];
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const report = await runFuzz({ url: t.system.url, requests: 5000, seed, tokens });
    assert.equal(report.requests, 5000);
    assert.ok(report.operations >= 20, `${report.operations} operations`);
    // The run covered the ground: successes, and the failures each rule is about.
    for (const status of ['200', '201', '400', '401', '404', '422']) assert.ok(report.statuses[status]! > 0, `no ${status} in ${JSON.stringify(report.statuses)}`);
    assert.deepEqual(report.findings, [], `seed ${report.seed} (FUZZ_SEED=${report.seed} replays it): ${JSON.stringify(report.counts)}`);
  });
});
