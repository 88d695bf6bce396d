/**
 * A rolling deployment, the way an ECS service behind an ALB replaces its tasks (minimum healthy 100 %, maximum
 * 200 %, one task at a time): for each running target — start a new one, register it, wait until the load
 * balancer's health checks call it healthy, deregister the old one, let it drain, stop it. At no moment is there
 * less healthy capacity than before, so under steady load a deploy loses no request and answers no 5xx.
 *
 * A new target that does not become healthy in time stops the deployment, and it rolls back: the unhealthy target
 * is removed and every target already replaced is replaced again by the previous release, the same careful way
 * (ECS's deployment circuit breaker with rollback). The "deployment in progress" 503 is what a deploy
 * without these steps causes: traffic sent to targets that are gone or not yet ready.
 *
 * Sources: AWS, "Deploy Amazon ECS services by replacing tasks" (rolling update, minimumHealthyPercent /
 * maximumPercent), "How the Amazon ECS deployment circuit breaker detects failures"; ELB, "Target groups for your
 * Application Load Balancers" → "Deregistration delay" (draining completes early once no request is in flight).
 */
import crypto from 'node:crypto';
import type { TargetState } from '../gateway/cluster/health.ts';

/** What a deployment needs of the system: its target processes and the gateway's view of them. */
export interface Fleet {
  /** The target processes serving now, in order. */
  ids(): string[];
  /** The release a target runs. */
  version(id: string): string;
  /** Starts a target process of `version` and registers it with the gateway; resolves with its id once it listens. */
  launch(version: string, opts: { healthy: boolean }): Promise<string>;
  /** The gateway's state of the target (undefined once removed). */
  state(id: string): TargetState | undefined;
  /** Requests in flight from the gateway to the target. */
  inflight(id: string): number;
  /** Takes it out of rotation: the gateway stops sending new requests (draining). */
  deregister(id: string): void;
  /** Stops the process gracefully and forgets it. */
  retire(id: string): Promise<void>;
}

export interface DeployTimings {
  /** How long a new target has to become healthy (process start + the health checks' healthy threshold). */
  healthyTimeoutMs: number;
  /** The deregistration delay: the longest a draining target is waited for. */
  drainTimeoutMs: number;
}

export type DeployStatus = 'in_progress' | 'succeeded' | 'rolling_back' | 'rolled_back';

export interface DeployEvent {
  at: string;
  event: string;
  target?: string;
}

export interface Deployment {
  id: string;
  version: string;
  previous_version: string;
  status: DeployStatus;
  started_at: string;
  finished_at?: string;
  reason?: string;
  /** Each replacement done so far: old target → new target. */
  replaced: Array<{ from: string; to: string }>;
  events: DeployEvent[];
}

class NotHealthy extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Deployer {
  readonly #fleet: Fleet;
  readonly #timings: DeployTimings;
  readonly #all = new Map<string, Deployment>();
  /** Each replaced target → the target that took its place (`follow`). */
  readonly #successors = new Map<string, string>();
  #running: Deployment | undefined;
  #done: Promise<void> = Promise.resolve();

  constructor(fleet: Fleet, timings: DeployTimings) {
    this.#fleet = fleet;
    this.#timings = timings;
  }

  /** The deployment under way, if any (one at a time, as ECS allows one active deployment per service). */
  get running(): Deployment | undefined {
    return this.#running;
  }

  /** The newest deployment, running or finished. */
  latest(): Deployment | undefined {
    return [...this.#all.values()].at(-1);
  }

  get(id: string): Deployment | undefined {
    return this.#all.get(id);
  }

  /**
   * What a target's name means now: itself while it `exists`, else the target that replaced it in a deployment or a
   * rollback, through every later replacement — so a name a user saw (shop-1) still leads somewhere.
   */
  follow(name: string, exists: (id: string) => boolean): string {
    let at = name;
    // Ids are never reused, so the chain ends.
    while (!exists(at) && this.#successors.has(at)) at = this.#successors.get(at)!;
    return at;
  }

  /** The names that lead to `id` (targets it replaced, directly or not), the newest first. */
  formerNames(id: string, exists: (id: string) => boolean): string[] {
    return [...this.#successors.keys()].filter((old) => old !== id && this.follow(old, exists) === id).reverse();
  }

  /** Resolves when the deployment under way (if any) has finished. */
  settled(): Promise<void> {
    return this.#done;
  }

  /** Starts a rolling deployment of `version` in the background and returns its record (polled for progress). */
  start(version: string, opts: { healthy?: boolean } = {}): Deployment {
    if (this.#running) throw new Error('a deployment is already in progress');
    const ids = this.#fleet.ids();
    const d: Deployment = {
      id: crypto.randomUUID(),
      version,
      previous_version: ids[0] ? this.#fleet.version(ids[0]) : 'none',
      status: 'in_progress',
      started_at: new Date().toISOString(),
      replaced: [],
      events: [],
    };
    this.#all.set(d.id, d);
    this.#running = d;
    this.#done = this.#run(d, ids, opts.healthy ?? true).finally(() => {
      d.finished_at = new Date().toISOString();
      this.#running = undefined;
    });
    return d;
  }

  async #run(d: Deployment, ids: string[], healthy: boolean): Promise<void> {
    const log = (event: string, target?: string) => d.events.push({ at: new Date().toISOString(), event, ...(target ? { target } : {}) });
    log(`rolling deployment of ${d.version} over ${ids.length} target(s), one at a time`);
    try {
      for (const old of ids) {
        const to = await this.#replace(old, d.version, healthy, log);
        d.replaced.push({ from: old, to });
      }
      d.status = 'succeeded';
      log('every target replaced');
    } catch (e) {
      d.status = 'rolling_back';
      d.reason = (e as Error).message;
      log(`stopped: ${d.reason}; rolling back to ${d.previous_version}`);
      try {
        for (const r of [...d.replaced].reverse()) await this.#replace(r.to, d.previous_version, true, log);
        d.status = 'rolled_back';
        log(`rolled back: every target runs ${d.previous_version}`);
      } catch (e2) {
        d.status = 'rolled_back';
        d.reason += `; the rollback also failed: ${(e2 as Error).message}`;
        log(`rollback failed: ${(e2 as Error).message}`);
      }
    }
  }

  /** One step of the rolling update: a healthy new target first, then the old one drained and stopped. */
  async #replace(old: string, version: string, healthy: boolean, log: (event: string, target?: string) => void): Promise<string> {
    const fleet = this.#fleet;
    const fresh = await fleet.launch(version, { healthy });
    log(`started ${fresh} (${version}) and registered it: initial until its health checks pass`, fresh);
    // Settled either way by the health checks (healthy, or unhealthy after the unhealthy threshold), or by the clock.
    await this.#until(() => fleet.state(fresh) === 'healthy' || fleet.state(fresh) === 'unhealthy', this.#timings.healthyTimeoutMs).catch(() => {});
    const state = fleet.state(fresh) ?? 'gone';
    if (state !== 'healthy') {
      fleet.deregister(fresh);
      await fleet.retire(fresh);
      log(`${fresh} is ${state}${state === 'unhealthy' ? ' (its health checks failed)' : ` after ${this.#timings.healthyTimeoutMs} ms`}: removed`, fresh);
      throw new NotHealthy(`${fresh} did not become healthy (${state})`);
    }
    log(`${fresh} is healthy and takes traffic`, fresh);
    // From here the new target is the old one's successor: once the old one is gone, its name leads here.
    this.#successors.set(old, fresh);
    fleet.deregister(old);
    log(`deregistered ${old}: draining (no new requests; in-flight ones finish)`, old);
    // ELB completes draining early once nothing is in flight; the deregistration delay is the longest wait.
    await this.#until(() => fleet.inflight(old) === 0 || fleet.state(old) === 'unused' || fleet.state(old) === undefined, this.#timings.drainTimeoutMs).catch(() => {});
    await fleet.retire(old);
    log(`${old} drained and stopped`, old);
    return fresh;
  }

  async #until(check: () => boolean, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out');
      await sleep(25);
    }
  }
}
