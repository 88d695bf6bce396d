/**
 * What the live dashboard shows, kept small and in memory: answers per second by class and by who made them (the
 * gateway or a target), latency percentiles, each target's state and recent health checks, the newest access-log
 * lines, and the decision step behind the shop's 4xx (read from each target's /metrics). One snapshot a second goes
 * to every open dashboard over server-sent events.
 */
import type { AccessRecord } from '../gateway/access-log.ts';
import type { Deployment } from './deploy.ts';
import type { Gateway } from '../gateway/gateway.ts';

const SECONDS = 120;
const CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;

interface Second {
  t: number;
  elb: Record<(typeof CLASSES)[number], number>;
  target: Record<(typeof CLASSES)[number], number>;
  durations: number[];
}

const empty = (t: number): Second => ({ t, elb: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }, target: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }, durations: [] });

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export class DashboardFeed {
  readonly #gateway: Gateway;
  readonly #token: string;
  #seconds: Second[] = [];
  // The newest records as they are; formatted only when a snapshot is taken (once a second), not per request.
  readonly #recent: AccessRecord[] = [];
  readonly #checks = new Map<string, boolean[]>();
  readonly #totals = { elb502: 0, elb503: 0, elb504: 0, elb4xx: 0, target5xx: 0, target4xx: 0 };
  #steps: Record<string, number> = {};
  #stepsReadAt = 0;
  #stepsReading = false;

  constructor(gateway: Gateway, token: string) {
    this.#gateway = gateway;
    this.#token = token;
    for (const g of gateway.groups.values()) {
      g.onCheck((t, ok) => {
        const h = this.#checks.get(t.id) ?? [];
        h.push(ok);
        if (h.length > 30) h.shift();
        this.#checks.set(t.id, h);
      });
    }
  }

  #second(): Second {
    const now = Math.floor(Date.now() / 1000);
    let last = this.#seconds[this.#seconds.length - 1];
    if (!last || last.t !== now) {
      last = empty(now);
      this.#seconds.push(last);
      if (this.#seconds.length > SECONDS) this.#seconds.shift();
    }
    return last;
  }

  record(r: AccessRecord): void {
    const s = this.#second();
    const byTarget = r.targetStatusCode !== undefined;
    const status = byTarget ? r.targetStatusCode! : r.elbStatusCode;
    const cls = `${Math.floor(status / 100)}xx` as (typeof CLASSES)[number];
    if (CLASSES.includes(cls)) (byTarget ? s.target : s.elb)[cls]++;
    s.durations.push(Date.now() - r.requestCreationTime.getTime());
    if (!byTarget) {
      if (r.elbStatusCode === 502) this.#totals.elb502++;
      if (r.elbStatusCode === 503) this.#totals.elb503++;
      if (r.elbStatusCode === 504) this.#totals.elb504++;
      if (cls === '4xx') this.#totals.elb4xx++;
    } else if (cls === '5xx') this.#totals.target5xx++;
    else if (cls === '4xx') this.#totals.target4xx++;
    this.#recent.push(r);
    if (this.#recent.length > 15) this.#recent.shift();
  }

  /**
   * Each shop target's 4xx by the decision step that decided them (its /metrics), read at most every 2 s and only
   * while a dashboard asks for snapshots: nobody watching, no polling. A snapshot shows the newest reading.
   */
  #refreshSteps(): void {
    if (this.#stepsReading || Date.now() - this.#stepsReadAt < 2000) return;
    this.#stepsReading = true;
    void (async () => {
      const steps: Record<string, number> = {};
      for (const g of this.#gateway.groups.values()) {
        for (const t of g.targets) {
          const text = await fetch(`http://${t.address}/metrics`, { headers: { authorization: `Bearer ${this.#token}` }, signal: AbortSignal.timeout(1000) })
            .then((r) => (r.ok ? r.text() : ''))
            .catch(() => '');
          for (const m of text.matchAll(/^receipt_shop_answers_total\{[^}]*status="(4\d\d)",step="([^"]+)"\} (\d+)$/gm)) {
            const key = `${m[1]} ${m[2]}`;
            steps[key] = (steps[key] ?? 0) + Number(m[3]);
          }
        }
      }
      this.#steps = steps;
      this.#stepsReadAt = Date.now();
      this.#stepsReading = false;
    })();
  }

  /** Where the dashboard learns of deployments (set by the launcher). */
  deployments: { latest(): Deployment | undefined } | undefined;

  #deployment() {
    const d = this.deployments?.latest();
    if (!d || (d.finished_at && Date.now() - Date.parse(d.finished_at) > 60_000)) return null;
    return { id: d.id, version: d.version, previous_version: d.previous_version, status: d.status, last_event: d.events.at(-1)?.event ?? null };
  }

  snapshot() {
    this.#refreshSteps();
    this.#second();
    const window = this.#seconds.slice(-10).flatMap((s) => s.durations).sort((a, b) => a - b);
    return {
      now: Date.now(),
      seconds: this.#seconds.slice(-60).map((s) => ({ t: s.t, elb: s.elb, target: s.target })),
      p50_ms: percentile(window, 0.5),
      p99_ms: percentile(window, 0.99),
      totals: this.#totals,
      targets: [...this.#gateway.groups.values()].flatMap((g) =>
        g.targets.map((t) => ({ id: t.id, group: g.name, address: t.address, state: t.state, reason: t.reason, in_flight: t.inflight, checks: this.#checks.get(t.id) ?? [] })),
      ),
      recent: [...this.#recent].reverse().map((r) => ({
        time: r.time.toISOString().slice(11, 19),
        request: r.request.split(' ').slice(0, 2).join(' ').replace(/^(\S+) \w+:\/\/[^/]+/, '$1 '),
        elb_status_code: r.elbStatusCode,
        target_status_code: r.targetStatusCode ?? '-',
        target: r.target ?? '-',
        error_reason: r.errorReason ?? '-',
      })),
      steps_4xx: this.#steps,
      // The newest deployment while it runs and for a minute after, so its outcome stays on screen.
      deployment: this.#deployment(),
    };
  }
}
