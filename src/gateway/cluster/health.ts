/**
 * A target's health as ALB keeps it, as a pure transition: the state after one more health-check result. No sockets,
 * no timers — target-group.ts runs the checks and applies this; the tests walk it step by step.
 *
 * ALB's rules (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html):
 * a newly registered target is `initial` until it passes one check; `healthyThreshold` consecutive passes bring an
 * unhealthy target back; `unhealthyThreshold` consecutive failures make any checked target unhealthy. The reason
 * code says why (`Target.Timeout`, `Target.ResponseCodeMismatch`, `Target.FailedHealthChecks`).
 */

/** ALB's target health states; `unavailable` is a target of a group whose health checks are turned off. */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'unavailable' | 'draining' | 'unused';

export interface Health {
  readonly state: TargetState;
  /** ALB's reason code for the state. */
  readonly reason: string;
  readonly okStreak: number;
  readonly failStreak: number;
}

/** One check's outcome: a status from the target, or the error that stopped the check. */
export interface CheckResult {
  status?: number;
  error?: string;
}

export interface Thresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** Just registered: `initial`, checks starting (ALB's Elb.InitialHealthChecking). */
export const REGISTERED: Health = { state: 'initial', reason: 'Elb.InitialHealthChecking', okStreak: 0, failStreak: 0 };

/**
 * Registered in a group whose health checks are off: ALB reports `unavailable` (Target.HealthCheckDisabled) and
 * routes to the target all the same (AWS, "Health checks for your target groups" → "Target health status").
 */
export const UNCHECKED: Health = { state: 'unavailable', reason: 'Target.HealthCheckDisabled', okStreak: 0, failStreak: 0 };

function failureReason(result: CheckResult): string {
  if (result.error === 'timeout') return 'Target.Timeout';
  return result.status !== undefined ? 'Target.ResponseCodeMismatch' : 'Target.FailedHealthChecks';
}

/** The health after one more check that `passed` (the matcher accepted its status) or not. */
export function nextHealth(h: Health, passed: boolean, result: CheckResult, t: Thresholds): Health {
  if (h.state === 'draining' || h.state === 'unused' || h.state === 'unavailable') return h; // not checked (any more)
  if (passed) {
    const okStreak = h.okStreak + 1;
    const recovers = h.state === 'initial' || (h.state === 'unhealthy' && okStreak >= t.healthyThreshold);
    return recovers ? { state: 'healthy', reason: 'Target.Healthy', okStreak, failStreak: 0 } : { ...h, okStreak, failStreak: 0 };
  }
  const failStreak = h.failStreak + 1;
  const reason = failureReason(result);
  if (h.state === 'unhealthy' || failStreak >= t.unhealthyThreshold) return { state: 'unhealthy', reason, okStreak: 0, failStreak };
  return { ...h, okStreak: 0, failStreak };
}
