/**
 * A target group as ALB runs one
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html): targets
 * with ALB's states, health checks with thresholds and a success-code matcher (the transitions are health.ts's),
 * round robin or least outstanding requests, fail-open when every registered target is unhealthy, and
 * deregistration with a draining delay. Each target keeps a keep-alive connection pool.
 *
 * A target's state is its group's to change: `Target` shows it read-only; the group writes it through a key only
 * this module holds.
 */
import http from 'node:http';
import { Upstream } from './upstream.ts';
import { nextHealth, REGISTERED, type CheckResult, type Health, type TargetState } from './health.ts';

export type { TargetState } from './health.ts';
export type Algorithm = 'round_robin' | 'least_outstanding_requests';

export interface HealthCheckConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** ALB's matcher: `200`, `200,202`, `200-299`. */
  matcher: string;
}

export interface TargetGroupConfig {
  name: string;
  algorithm: Algorithm;
  healthCheck: HealthCheckConfig;
  deregistrationDelayMs: number;
}

export interface UpstreamTimeouts {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** ALB: total response headers over 32 K → 502. */
  maxResponseHeaderBytes: number;
  /** Connections to targets, counted for ALB's NewConnectionCount and ActiveConnectionCount. */
  connections?: ConnectionCounts;
}

/** Running connection counts (plain numbers, read when metrics are scraped). */
export interface ConnectionCounts {
  opened: number;
  open: number;
}

/** The matcher compiled once: `200,202` or `200-299`. */
export function compileMatcher(matcher: string): (status: number) => boolean {
  const parts = matcher.split(',').map((p) => p.trim());
  const tests = parts.map((p) => {
    const range = /^(\d{3})-(\d{3})$/.exec(p);
    if (range) return (s: number) => s >= Number(range[1]) && s <= Number(range[2]);
    if (!/^\d{3}$/.test(p)) throw new Error(`matcher "${matcher}": "${p}" is neither a code nor a range`);
    return (s: number) => s === Number(p);
  });
  return (s) => tests.some((t) => t(s));
}

/** Least outstanding requests: the candidate with the fewest requests in flight (the first, on a tie). */
function leastOutstanding(candidates: Target[]): Target {
  let best = candidates[0]!;
  for (const t of candidates) if (t.inflight < best.inflight) best = t;
  return best;
}

/** A request in flight to a target: how to end it early, and where the target keeps it. */
export interface InFlight {
  readonly abort: (reason: Error) => void;
  slot: number;
}

/** Ends requests still running when the deregistration delay runs out (ALB: 502). */
export class DeregistrationDelayElapsed extends Error {
  override name = 'DeregistrationDelayElapsed';
}

/** Only this module writes a target's health. */
const SET = Symbol('set target health');

export class Target {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Keep-alive connections to this target, reused across requests (ALB keeps backend connections open). */
  readonly upstream: Upstream;
  readonly timeouts: UpstreamTimeouts;
  #health: Health = { ...REGISTERED, reason: 'Elb.RegistrationInProgress' };
  #lastCheck: (CheckResult & { at: number }) | undefined;
  /** How to abort each request in flight (the proxy's handler registers it). */
  /**
   * Requests in flight, each knowing its slot, so ending one is a swap with the last: O(1) without a Set. A Set was
   * measured to keep every request it had held alive across young-generation collections under load (scavenges 4×
   * dearer, the old generation growing by ~2 MB each), which an array does not.
   */
  readonly #inFlight: InFlight[] = [];
  #drainTimer: NodeJS.Timeout | undefined;
  #checkTimer: NodeJS.Timeout | undefined;

  constructor(id: string, host: string, port: number, timeouts: UpstreamTimeouts) {
    this.id = id;
    this.host = host;
    this.port = port;
    this.timeouts = timeouts;
    this.upstream = new Upstream({
      host,
      port,
      connectTimeoutMs: timeouts.connectTimeoutMs,
      idleTimeoutMs: timeouts.idleTimeoutMs,
      maxResponseHeaderBytes: timeouts.maxResponseHeaderBytes,
      counts: timeouts.connections,
    });
  }

  get state(): TargetState {
    return this.#health.state;
  }

  /** ALB's reason code for the state. */
  get reason(): string {
    return this.#health.reason;
  }

  get health(): Health {
    return this.#health;
  }

  /** Requests in flight to this target. */
  get inflight(): number {
    return this.#inFlight.length;
  }

  get lastCheck(): (CheckResult & { at: number }) | undefined {
    return this.#lastCheck;
  }

  [SET](health: Health, check?: CheckResult & { at: number }): void {
    this.#health = health;
    if (check) this.#lastCheck = check;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Tracks a request so that the end of a drain can abort it; `end` with what this returns. */
  begin(abort: (reason: Error) => void): InFlight {
    const request = { abort, slot: this.#inFlight.length };
    this.#inFlight.push(request);
    return request;
  }

  end(request: InFlight): void {
    const list = this.#inFlight;
    if (request.slot < 0 || list[request.slot] !== request) return;
    const last = list.pop()!;
    if (last !== request) {
      list[request.slot] = last;
      last.slot = request.slot;
    }
    request.slot = -1;
  }

  abortAll(reason: Error): void {
    for (const request of [...this.#inFlight]) request.abort(reason);
  }

  set drainTimer(t: NodeJS.Timeout | undefined) {
    clearTimeout(this.#drainTimer);
    this.#drainTimer = t;
  }

  set checkTimer(t: NodeJS.Timeout | undefined) {
    clearInterval(this.#checkTimer);
    this.#checkTimer = t;
  }

  async close(): Promise<void> {
    this.drainTimer = undefined;
    this.checkTimer = undefined;
    this.upstream.destroy();
  }
}

export class TargetGroup {
  readonly config: TargetGroupConfig;
  readonly #timeouts: UpstreamTimeouts;
  readonly #ok: (status: number) => boolean;
  readonly #targets = new Map<string, Target>();
  #next = 0;
  #onChange: Array<(t: Target, from: TargetState) => void> = [];
  #onCheck: Array<(t: Target, ok: boolean) => void> = [];

  constructor(config: TargetGroupConfig, timeouts: UpstreamTimeouts) {
    this.config = config;
    this.#timeouts = timeouts;
    this.#ok = compileMatcher(config.healthCheck.matcher);
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
    t[SET](health, check);
    if (from !== health.state) for (const f of this.#onChange) f(t, from);
  }

  /** Registers a target: `initial` until it passes one health check (health.ts). Re-registering a draining one revives it. */
  register(id: string, host: string, port: number): Target {
    let t = this.#targets.get(id);
    if (t && (t.host !== host || t.port !== port)) {
      void t.close();
      t = undefined;
    }
    if (!t) {
      t = new Target(id, host, port, this.#timeouts);
      this.#targets.set(id, t);
    }
    t.drainTimer = undefined;
    this.#apply(t, REGISTERED);
    const hc = this.config.healthCheck;
    const timer = setInterval(() => void this.check(t!), hc.intervalMs);
    timer.unref();
    t.checkTimer = timer;
    void this.check(t);
    return t;
  }

  /**
   * Deregisters with connection draining (the target group's deregistration delay): no new requests at once; in-flight ones may finish until
   * the delay ends, when any still running are ended (→ 502) and the target becomes `unused`.
   */
  deregister(id: string): Target | undefined {
    const t = this.#targets.get(id);
    if (!t || t.state === 'draining' || t.state === 'unused') return t;
    t.checkTimer = undefined;
    this.#apply(t, { state: 'draining', reason: 'Target.DeregistrationInProgress', okStreak: 0, failStreak: 0 });
    const finish = () => {
      t.abortAll(new DeregistrationDelayElapsed());
      this.#apply(t, { state: 'unused', reason: 'Target.NotRegistered', okStreak: 0, failStreak: 0 });
    };
    t.drainTimer = setTimeout(finish, this.config.deregistrationDelayMs);
    return t;
  }

  /** Removes a target entirely (its pool is closed). */
  async remove(id: string): Promise<void> {
    const t = this.#targets.get(id);
    this.#targets.delete(id);
    await t?.close();
  }

  /**
   * The target for the next request. Healthy targets first; when none is healthy but some are registered, every
   * registered target (fail-open, as AWS documents for target groups with no healthy target). undefined only when nothing is registered (or all are draining /
   * unused): the caller answers 503.
   */
  choose(): Target | undefined {
    const routable: Target[] = [];
    const healthy: Target[] = [];
    for (const t of this.#targets.values()) {
      if (t.state === 'draining' || t.state === 'unused') continue;
      routable.push(t);
      if (t.state === 'healthy') healthy.push(t);
    }
    if (routable.length === 0) return undefined;
    const candidates = healthy.length ? healthy : routable;
    return this.config.algorithm === 'least_outstanding_requests' ? leastOutstanding(candidates) : this.#roundRobin(candidates);
  }

  /** Round robin: the next candidate in turn. */
  #roundRobin(candidates: Target[]): Target {
    this.#next = (this.#next + 1) % candidates.length;
    return candidates[this.#next % candidates.length]!;
  }

  /** One health check: a fresh connection (ALB closes it after each check), ALB's User-Agent, the matcher. */
  async check(t: Target): Promise<void> {
    if (t.state === 'draining' || t.state === 'unused') return;
    const hc = this.config.healthCheck;
    const result = await new Promise<{ status?: number; error?: string }>((resolve) => {
      const req = http.get(
        {
          host: t.host,
          port: t.port,
          path: hc.path,
          agent: false,
          timeout: hc.timeoutMs,
          headers: { 'user-agent': 'ELB-HealthChecker/2.0', host: t.address, connection: 'close' },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode });
        },
      );
      req.on('timeout', () => {
        req.destroy();
        resolve({ error: 'timeout' });
      });
      req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
    const now = t.state as TargetState; // it may have changed while the check ran
    if (now === 'draining' || now === 'unused' || !this.#targets.has(t.id)) return;
    const ok = result.status !== undefined && this.#ok(result.status);
    this.#apply(t, nextHealth(t.health, ok, result, hc), { ...result, at: Date.now() });
    for (const f of this.#onCheck) f(t, ok);
  }

  async close(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.close()));
  }
}
