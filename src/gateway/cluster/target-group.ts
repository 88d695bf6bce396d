/**
 * A target group as ALB runs one
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html): the
 * registry of its targets and their states, which it alone writes. The parts it is made of each live in a file of
 * their own:
 *
 *  - target.ts          one target: address, state, keep-alive connections, requests in flight;
 *  - health.ts          the state after one more check result (pure);
 *  - health-checker.ts  sending a check (its port, protocol and matcher);
 *  - balancer.ts        which candidate gets the next request (pure: the routing algorithm and slow start).
 *
 * What stays here is ALB's bookkeeping between them: who is a candidate (healthy ones, or every registered one when
 * none is healthy: fail-open), the check schedule, and deregistration — a drain that ends when the deregistration
 * delay runs out, or as soon as nothing is in flight (AWS: "If a deregistering target has no in-flight requests and
 * no active connections, Elastic Load Balancing immediately completes the deregistration process").
 */
import { createBalancer, type Algorithm, type Balancer } from './balancer.ts';
import { nextHealth, REGISTERED, UNCHECKED, type CheckResult, type Health, type TargetState } from './health.ts';
import { compileMatcher, runHealthCheck, type HealthCheckConfig } from './health-checker.ts';
import type { StickinessConfig } from './stickiness.ts';
import { DeregistrationDelayElapsed, SET_HEALTH, Target, type UpstreamTimeouts } from './target.ts';

export type { TargetState } from './health.ts';
export type { Algorithm } from './balancer.ts';
export type { HealthCheckConfig } from './health-checker.ts';
export { compileMatcher } from './health-checker.ts';
export { DeregistrationDelayElapsed, Target, type ConnectionCounts, type InFlight, type UpstreamTimeouts } from './target.ts';

export interface TargetGroupConfig {
  name: string;
  /** How the gateway speaks to the targets: HTTP, or HTTPS (TLS, certificates not verified, as ALB). */
  protocol: 'HTTP' | 'HTTPS';
  algorithm: Algorithm;
  /** Slow start: a newly healthy target's share grows over this long (0: off). */
  slowStartMs: number;
  /** Sticky sessions (the `stickiness.*` attributes); absent when off. */
  stickiness?: StickinessConfig | undefined;
  healthCheck: HealthCheckConfig;
  deregistrationDelayMs: number;
}

/** A target's timers: its next health check, and the end of its deregistration delay. */
interface Timers {
  check?: NodeJS.Timeout;
  drain?: NodeJS.Timeout;
}

export class TargetGroup {
  readonly config: TargetGroupConfig;
  readonly #timeouts: UpstreamTimeouts;
  readonly #ok: (status: number) => boolean;
  readonly #targets = new Map<string, Target>();
  readonly #timers = new Map<Target, Timers>();
  readonly #balancer: Balancer<Target>;
  #onChange: Array<(t: Target, from: TargetState) => void> = [];
  #onCheck: Array<(t: Target, ok: boolean) => void> = [];

  constructor(config: TargetGroupConfig, timeouts: UpstreamTimeouts) {
    this.config = config;
    this.#timeouts = timeouts;
    this.#ok = compileMatcher(config.healthCheck.matcher);
    this.#balancer = createBalancer<Target>({ algorithm: config.algorithm, slowStartMs: config.slowStartMs });
  }

  get name(): string {
    return this.config.name;
  }

  get targets(): Target[] {
    return [...this.#targets.values()];
  }

  target(id: string): Target | undefined {
    return this.#targets.get(id);
  }

  onStateChange(f: (t: Target, from: TargetState) => void): void {
    this.#onChange.push(f);
  }

  /** Every health-check result (for metrics). */
  onCheck(f: (t: Target, ok: boolean) => void): void {
    this.#onCheck.push(f);
  }

  /** Every write of a target's health goes here, so state-change listeners see each transition once. */
  #apply(t: Target, health: Health, check?: CheckResult & { at: number }): void {
    const from = t.state;
    t[SET_HEALTH](health, check);
    if (from !== health.state) for (const f of this.#onChange) f(t, from);
  }

  #timersOf(t: Target): Timers {
    let timers = this.#timers.get(t);
    if (!timers) this.#timers.set(t, (timers = {}));
    return timers;
  }

  #stopTimers(t: Target): void {
    const timers = this.#timers.get(t);
    if (!timers) return;
    clearInterval(timers.check);
    clearTimeout(timers.drain);
    this.#timers.delete(t);
  }

  /**
   * Registers a target: `initial` until it passes one health check (health.ts), or `unavailable` when the group's
   * checks are off. Re-registering a draining one revives it.
   */
  register(id: string, host: string, port: number): Target {
    let t = this.#targets.get(id);
    if (t && (t.host !== host || t.port !== port)) {
      this.#stopTimers(t);
      t.close();
      t = undefined;
    }
    if (!t) {
      t = new Target(id, host, port, this.#timeouts, this.config.protocol === 'HTTPS');
      this.#targets.set(id, t);
    }
    this.#stopTimers(t);
    t.onIdle = undefined;
    const hc = this.config.healthCheck;
    if (!hc.enabled) {
      this.#apply(t, UNCHECKED);
      return t;
    }
    this.#apply(t, REGISTERED);
    const timer = setInterval(() => void this.check(t!), hc.intervalMs);
    timer.unref();
    this.#timersOf(t).check = timer;
    void this.check(t);
    return t;
  }

  /**
   * Deregisters with connection draining: no new requests at once; in-flight ones may finish until the
   * deregistration delay ends, when any still running are ended (→ 502) and the target becomes `unused`. With
   * nothing in flight the drain completes at once — on the next turn, so the caller still sees `draining`.
   */
  deregister(id: string): Target | undefined {
    const t = this.#targets.get(id);
    if (!t || t.state === 'draining' || t.state === 'unused') return t;
    this.#stopTimers(t);
    this.#apply(t, { state: 'draining', reason: 'Target.DeregistrationInProgress', okStreak: 0, failStreak: 0 });
    let finished = false;
    const finish = (aborting: boolean) => {
      if (finished || t.state !== 'draining') return;
      finished = true;
      this.#stopTimers(t);
      t.onIdle = undefined;
      if (aborting) t.abortAll(new DeregistrationDelayElapsed());
      this.#apply(t, { state: 'unused', reason: 'Target.NotRegistered', okStreak: 0, failStreak: 0 });
    };
    this.#timersOf(t).drain = setTimeout(() => finish(true), this.config.deregistrationDelayMs);
    t.onIdle = () => finish(false);
    if (t.inflight === 0) setImmediate(() => finish(false));
    return t;
  }

  /** Removes a target entirely (its pool is closed). */
  async remove(id: string): Promise<void> {
    const t = this.#targets.get(id);
    this.#targets.delete(id);
    if (!t) return;
    this.#stopTimers(t);
    t.close();
  }

  /**
   * The target for the next request. Healthy targets first (and `unavailable` ones, whose group does not check);
   * when none is, every registered target (fail-open, as AWS documents for target groups with no healthy target).
   * undefined only when nothing is registered (or all are draining / unused): the caller answers 503.
   */
  choose(preferredId?: string): Target | undefined {
    // A sticky session's target while it can take requests; an unhealthy, draining or removed one loses it, and
    // the next answer's cookie names the new target (AWS, "Sticky sessions for your Application Load Balancer").
    if (preferredId !== undefined) {
      const t = this.#targets.get(preferredId);
      if (t && (t.state === 'healthy' || t.state === 'unavailable')) return t;
    }
    const routable: Target[] = [];
    const healthy: Target[] = [];
    for (const t of this.#targets.values()) {
      if (t.state === 'draining' || t.state === 'unused') continue;
      routable.push(t);
      if (t.state === 'healthy' || t.state === 'unavailable') healthy.push(t);
    }
    if (routable.length === 0) return undefined;
    return this.#balancer.pick(healthy.length ? healthy : routable, Date.now());
  }

  /** One health check now (health-checker.ts), its result applied. */
  async check(t: Target): Promise<void> {
    if (t.state === 'draining' || t.state === 'unused' || t.state === 'unavailable') return;
    const hc = this.config.healthCheck;
    const result = await runHealthCheck(t.host, t.port, hc, this.#timeouts.maxResponseHeaderBytes);
    const now = t.state as TargetState; // it may have changed while the check ran
    if (now === 'draining' || now === 'unused' || this.#targets.get(t.id) !== t) return;
    const ok = result.status !== undefined && this.#ok(result.status);
    this.#apply(t, nextHealth(t.health, ok, result, hc), { ...result, at: Date.now() });
    for (const f of this.#onCheck) f(t, ok);
  }

  async close(): Promise<void> {
    for (const t of this.#targets.values()) {
      this.#stopTimers(t);
      t.close();
    }
  }
}
