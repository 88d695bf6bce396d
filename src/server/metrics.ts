/**
 * Counters and histograms updated on every request, exposed through prom-client's registry.
 *
 * prom-client validates and hashes a label object on every `inc()` and `observe()` — also through the child that
 * `labels()` returns — which, with several metrics per request, was a measurable part of each request's cost. Here a
 * label set is resolved to its series once (`series()`), and updating a series is an addition. The registry reads
 * them at scrape time through the same `get()` shape prom-client's own metrics have, so the exposition is
 * unchanged: `_bucket` lines with cumulative counts and `le`, then `_sum` and `_count` (the Prometheus text format).
 */
import type { Registry } from 'prom-client';

/** What prom-client's registry reads from a metric at scrape time (the shape its own metrics' `get()` returns). */
interface Exposed {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

type Labels<L extends string> = Partial<Record<L, string | number>>;

interface Options<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  registers: Registry[];
}

abstract class FastMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  protected readonly series_ = new Map<string, { labels: Labels<L>; state: S }>();
  readonly #labelNames: readonly L[];

  constructor(opts: Options<L>) {
    this.name = opts.name;
    this.help = opts.help;
    this.#labelNames = opts.labelNames ?? [];
  }

  /** Called last by each constructor, once the metric can make a series. */
  protected start(registers: Registry[]): void {
    // Like prom-client: a metric without labels has its one series from the start (a 0 a dashboard can read).
    if (this.#labelNames.length === 0) this.resolve('', {});
    for (const r of registers) r.registerMetric(this as never);
  }

  protected abstract fresh(): S;
  protected abstract clear(state: S): void;

  /** The series for a label set, made on first use; `key` must identify the label values (callers build it cheaply). */
  protected resolve(key: string, labels: Labels<L>): S {
    let s = this.series_.get(key);
    if (!s) {
      for (const k of Object.keys(labels)) if (!this.#labelNames.includes(k as L)) throw new Error(`${this.name} has no label ${k}`);
      s = { labels: { ...labels }, state: this.fresh() };
      this.series_.set(key, s);
    }
    return s.state;
  }

  /** Zeroes every series in place, so what `series()` handed out keeps counting into the metric. */
  reset(): void {
    for (const s of this.series_.values()) this.clear(s.state);
  }
}

export class FastCounter<L extends string = string> extends FastMetric<L, { value: number }> {
  readonly type = 'counter' as const;

  constructor(opts: Options<L>) {
    super(opts);
    this.start(opts.registers);
  }

  protected fresh() {
    return { value: 0 };
  }

  protected clear(state: { value: number }): void {
    state.value = 0;
  }

  /** Keep what this returns for a label set that recurs; `key` defaults to the label values joined. */
  series(labels: Labels<L> = {}, key = Object.values(labels).join('\u0000')): { inc(by?: number): void } {
    const state = this.resolve(key, labels);
    return {
      inc(by = 1) {
        state.value += by;
      },
    };
  }

  inc(labels: Labels<L> = {}, by = 1, key = Object.values(labels).join('\u0000')): void {
    this.resolve(key, labels).value += by;
  }

  async get(): Promise<Exposed> {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      aggregator: this.aggregator,
      values: [...this.series_.values()].map((s) => ({ labels: s.labels as Record<string, string | number>, value: s.state.value })),
    };
  }
}

interface Buckets {
  counts: number[];
  sum: number;
  count: number;
}

export class FastHistogram<L extends string = string> extends FastMetric<L, Buckets> {
  readonly type = 'histogram' as const;
  readonly #bounds: number[];

  constructor(opts: Options<L> & { buckets: number[] }) {
    super(opts);
    this.#bounds = [...opts.buckets].sort((a, b) => a - b);
    this.start(opts.registers);
  }

  protected fresh(): Buckets {
    return { counts: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected clear(state: Buckets): void {
    state.counts.fill(0);
    state.sum = 0;
    state.count = 0;
  }

  observe(labels: Labels<L>, value: number, key = Object.values(labels).join('\u0000')): void {
    this.#add(this.resolve(key, labels), value);
  }

  series(labels: Labels<L> = {}, key = Object.values(labels).join('\u0000')): { observe(value: number): void } {
    const state = this.resolve(key, labels);
    return { observe: (value) => this.#add(state, value) };
  }

  #add(b: Buckets, value: number): void {
    // prom-client throws on a value that is not finite; a request must not fail over its metric, so it is dropped.
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    b.counts[i]!++;
    b.sum += value;
    b.count++;
  }

  async get(): Promise<Exposed> {
    const values: Exposed['values'] = [];
    for (const { labels: l, state } of this.series_.values()) {
      const labels = l as Record<string, string | number>;
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i++) {
        cumulative += state.counts[i]!;
        values.push({ labels: { le: i < this.#bounds.length ? this.#bounds[i]! : '+Inf', ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: state.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: state.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: this.aggregator, values };
  }
}
