/**
 * Prometheus metrics for the gateway: ALB's CloudWatch set (alb-metrics.ts), and beside it the emulator's own detail:
 * requests by the gateway's status and the target's, by target and rule; health-check results; target states;
 * requests in flight per target (the pool's state).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { FastCounter } from '../server/metrics.ts';
import type { AccessRecord } from '../gateway/access-log.ts';
import { AlbMetrics } from './alb-metrics.ts';
import type { Gateway } from '../gateway/gateway.ts';
import type { TargetState } from '../gateway/cluster/target-group.ts';

const STATES: TargetState[] = ['initial', 'healthy', 'unhealthy', 'unavailable', 'draining', 'unused'];

export class GatewayMetrics {
  readonly registry = new Registry();
  // Counted on every request: the fast kind (src/server/metrics.ts).
  readonly #requests = new FastCounter({
    name: 'receipt_gateway_requests_total',
    help: 'Requests by the status the gateway sent, the status the target sent ("-" when none), target and matched rule',
    labelNames: ['elb_status_code', 'target_status_code', 'target', 'rule', 'error_reason'] as const,
    registers: [this.registry],
  });
  readonly #checks = new Counter({
    name: 'receipt_gateway_health_checks_total',
    help: 'Health checks by target group, target and result',
    labelNames: ['target_group', 'target', 'result'] as const,
    registers: [this.registry],
  });

  readonly #alb: AlbMetrics;

  constructor(gateway: Gateway) {
    this.#alb = new AlbMetrics(this.registry, gateway);
    const groups = () => [...gateway.groups.values()];
    new Gauge({
      name: 'receipt_gateway_targets',
      help: 'Targets by target group and state (HealthyHostCount, UnHealthyHostCount, …)',
      labelNames: ['target_group', 'state'] as const,
      registers: [this.registry],
      collect() {
        for (const g of groups()) for (const s of STATES) this.set({ target_group: g.name, state: s }, g.targets.filter((t) => t.state === s).length);
      },
    });
    new Gauge({
      name: 'receipt_gateway_target_in_flight',
      help: 'Requests in flight to each target (its connection pool in use)',
      labelNames: ['target_group', 'target'] as const,
      registers: [this.registry],
      collect() {
        for (const g of groups()) for (const t of g.targets) this.set({ target_group: g.name, target: t.id }, t.inflight);
      },
    });
    for (const g of groups()) g.onCheck((t, ok) => this.#checks.inc({ target_group: g.name, target: t.id, result: ok ? 'pass' : 'fail' }));
  }

  record(r: AccessRecord): void {
    const target = r.targetStatusCode === undefined ? '-' : String(r.targetStatusCode);
    const rule = r.matchedRulePriority === undefined ? '-' : String(r.matchedRulePriority);
    const key = `${r.elbStatusCode}|${target}|${r.target ?? '-'}|${rule}|${r.errorReason ?? '-'}`;
    this.#requests.inc({ elb_status_code: String(r.elbStatusCode), target_status_code: target, target: r.target ?? '-', rule, error_reason: r.errorReason ?? '-' }, 1, key);
    this.#alb.record(r);
  }
}
