/**
 * One registered target: its address, its ALB state (written only by its group, through a key this folder holds),
 * its keep-alive connections (upstream.ts), and the requests in flight to it, so a drain can wait for them or end
 * them.
 */
import { Upstream } from '../upstream.ts';
import { REGISTERED, type CheckResult, type Health, type TargetState } from './health.ts';

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

/** A request in flight to a target: how to end it early, and where the target keeps it. */
export interface InFlight {
  readonly abort: (reason: Error) => void;
  slot: number;
}

/** Ends requests still running when the deregistration delay runs out (ALB: 502). */
export class DeregistrationDelayElapsed extends Error {
  override name = 'DeregistrationDelayElapsed';
}

/** Only the target group writes a target's health (target-group.ts imports this key; nothing else should). */
export const SET_HEALTH = Symbol('set target health');

export class Target {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Keep-alive connections to this target, reused across requests (ALB keeps backend connections open). */
  readonly upstream: Upstream;
  readonly timeouts: UpstreamTimeouts;
  #health: Health = { ...REGISTERED, reason: 'Elb.RegistrationInProgress' };
  #lastCheck: (CheckResult & { at: number }) | undefined;
  /** When it last became healthy (slow start ramps from here); undefined while it is not. */
  #healthySince: number | undefined;
  /**
   * Requests in flight, each knowing its slot, so ending one is a swap with the last: O(1) without a Set. A Set was
   * measured to keep every request it had held alive across young-generation collections under load (scavenges 4×
   * dearer, the old generation growing by ~2 MB each), which an array does not.
   */
  readonly #inFlight: InFlight[] = [];
  /** Called when the last request in flight ends (a drain completes early then). */
  onIdle: (() => void) | undefined;

  constructor(id: string, host: string, port: number, timeouts: UpstreamTimeouts, tls = false) {
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
      tls,
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

  get healthySince(): number | undefined {
    return this.#healthySince;
  }

  /** Requests in flight to this target. */
  get inflight(): number {
    return this.#inFlight.length;
  }

  get lastCheck(): (CheckResult & { at: number }) | undefined {
    return this.#lastCheck;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  [SET_HEALTH](health: Health, check?: CheckResult & { at: number }): void {
    if (health.state === 'healthy' && this.#health.state !== 'healthy') this.#healthySince = Date.now();
    else if (health.state !== 'healthy') this.#healthySince = undefined;
    this.#health = health;
    if (check) this.#lastCheck = check;
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
    if (list.length === 0) this.onIdle?.();
  }

  abortAll(reason: Error): void {
    for (const request of [...this.#inFlight]) request.abort(reason);
  }

  close(): void {
    this.onIdle = undefined;
    this.upstream.destroy();
  }
}
