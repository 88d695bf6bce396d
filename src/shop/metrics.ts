/**
 * The shop's own metrics, per target process: every answer by route, status and **the decision step that decided
 * it** — so "why are there 4xx?" reads "401 from authenticate" — with request durations, database pool waits and
 * timeouts, and the payment provider's latency and failures. Served at the target's GET /metrics (behind the
 * control token); docs/observability.md lists them.
 */
import type { PaymentOutcome } from './payments.ts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ShopMetrics {
  readonly registry = new Registry();
  readonly #answers = new Counter({
    name: 'receipt_shop_answers_total',
    help: 'Answers by route, method, status and the decision step that decided (parse, authenticate, authorize, locate, preconditions, validate, rate-limit, dependencies, handle, success; routing and maintenance outside the tree)',
    labelNames: ['route', 'method', 'status', 'step'] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: 'receipt_shop_request_duration_seconds',
    help: 'Time from the request’s arrival at the target to its answer, by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly #dbWait = new Histogram({
    name: 'receipt_shop_db_pool_wait_seconds',
    help: 'Time spent waiting for a database connection from the pool',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly #dbTimeouts = new Counter({
    name: 'receipt_shop_db_pool_timeouts_total',
    help: 'Database connections not obtained within DB_ACQUIRE_TIMEOUT_MS (each answered 503)',
    registers: [this.registry],
  });
  readonly #payment = new Histogram({
    name: 'receipt_shop_payment_duration_seconds',
    help: 'Calls to the payment provider, by outcome (charged, unavailable, declined, refused)',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly #breaker = new Gauge({
    name: 'receipt_shop_payment_breaker_state',
    help: 'The payment provider’s circuit breaker in this target: 1 for its current state (closed, open, half-open)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    this.breaker('closed');
  }

  breaker(state: 'closed' | 'open' | 'half-open'): void {
    for (const s of ['closed', 'open', 'half-open']) this.#breaker.set({ state: s }, s === state ? 1 : 0);
  }

  // One bound child per label combination (routes, methods, statuses and steps are few): prom-client hashes a
  // label object on every inc() and observe() otherwise, on every request.
  readonly #boundAnswers = new Map<string, { inc(): void }>();
  readonly #boundDurations = new Map<string, { observe(v: number): void }>();

  answer(route: string, method: string, status: number, step: string, seconds: number): void {
    const key = `${route} ${method}`;
    const answerKey = `${key} ${status} ${step}`;
    let answers = this.#boundAnswers.get(answerKey);
    if (!answers) this.#boundAnswers.set(answerKey, (answers = this.#answers.labels({ route, method, status: String(status), step })));
    answers.inc();
    let duration = this.#boundDurations.get(key);
    if (!duration) this.#boundDurations.set(key, (duration = this.#duration.labels({ route, method })));
    duration.observe(seconds);
  }

  dbAcquire(waitMs: number, ok: boolean): void {
    this.#dbWait.observe(waitMs / 1000);
    if (!ok) this.#dbTimeouts.inc();
  }

  payment(ms: number, outcome: PaymentOutcome): void {
    this.#payment.observe({ outcome }, ms / 1000);
  }
}
