/** Target health as a pure transition (src/gateway/cluster/health.ts): ALB's thresholds, states and reasons, no sockets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextHealth, REGISTERED, type CheckResult, type Health } from '../../src/gateway/cluster/health.ts';

const T = { healthyThreshold: 3, unhealthyThreshold: 2 };
const pass: CheckResult = { status: 200 };
const walk = (start: Health, steps: Array<[boolean, CheckResult]>) => {
  const states: string[] = [];
  let h = start;
  for (const [ok, r] of steps) {
    h = nextHealth(h, ok, r, T);
    states.push(h.state);
  }
  return { h, states };
};

describe('target health transitions', () => {
  it('initial → healthy after one pass', () => {
    assert.equal(nextHealth(REGISTERED, true, pass, T).state, 'healthy');
    assert.equal(nextHealth(REGISTERED, true, pass, T).reason, 'Target.Healthy');
  });

  it('healthy → unhealthy only after the unhealthy threshold of consecutive failures; a pass resets the count', () => {
    const healthy = nextHealth(REGISTERED, true, pass, T);
    const fail: CheckResult = { status: 503 };
    assert.deepEqual(walk(healthy, [[false, fail], [true, pass], [false, fail], [false, fail]]).states, ['healthy', 'healthy', 'healthy', 'unhealthy']);
  });

  it('unhealthy → healthy only after the healthy threshold of consecutive passes', () => {
    const { h: sick } = walk(REGISTERED, [[false, { error: 'ECONNREFUSED' }], [false, { error: 'ECONNREFUSED' }]]);
    assert.equal(sick.state, 'unhealthy');
    assert.deepEqual(walk(sick, [[true, pass], [true, pass], [false, { status: 500 }], [true, pass], [true, pass], [true, pass]]).states, [
      'unhealthy',
      'unhealthy',
      'unhealthy',
      'unhealthy',
      'unhealthy',
      'healthy',
    ]);
  });

  it('the reason names the failure: timeout, wrong status, no answer', () => {
    const fails = (r: CheckResult) => walk(REGISTERED, [[false, r], [false, r]]).h.reason;
    assert.equal(fails({ error: 'timeout' }), 'Target.Timeout');
    assert.equal(fails({ status: 404 }), 'Target.ResponseCodeMismatch');
    assert.equal(fails({ error: 'ECONNREFUSED' }), 'Target.FailedHealthChecks');
  });

  it('draining and unused targets are not moved by checks', () => {
    const draining: Health = { state: 'draining', reason: 'Target.DeregistrationInProgress', okStreak: 0, failStreak: 0 };
    assert.equal(nextHealth(draining, true, pass, T), draining);
    assert.equal(nextHealth(draining, false, { status: 500 }, T), draining);
  });
});
