/**
 * The shop's own metrics, per target process: every answer by route, status and **the decision step that decided
 * it** — so "why are there 4xx?" reads "401 from authenticate" — with request durations, database pool waits and
 * timeouts, and the payment provider's latency and failures. Served at the target's GET /metrics (behind the
 * control token); docs/observability.md lists them.
 */
import type { PaymentOutcome } from './payments.ts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../server/metrics.ts';

export class ShopMetrics {
  readonly registry = new Registry();
  // Updated on every request: the fast kinds (src/server/metrics.ts); the rest are prom-client's own.
  readonly #answers = new FastCounter({
    name: 'receipt_shop_answers_total',
    help: 'Answers by route, method, status and the decision step that decided (parse, authenticate, authorize, locate, preconditions, validate, rate-limit, dependencies, handle, success; routing and maintenance outside the tree)',
    labelNames: ['route', 'method', 'status', 'step'] as const,
    registers: [this.registry],
  });
  readonly #duration = new FastHistogram({
    name: 'receipt_shop_request_duration_seconds',
    help: 'Time from the request’s arrival at the target to its answer, by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly #dbWait = new FastHistogram({
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

  answer(route: string, method: string, status: number, step: string, seconds: number): void {
    const key = `${route} ${method}`;
    this.#answers.inc({ route, method, status, step }, 1, `${key} ${status} ${step}`);
    this.#duration.observe({ route, method }, seconds, key);
  }

  dbAcquire(waitMs: number, ok: boolean): void {
    this.#dbWait.observe({}, waitMs / 1000, '');
    if (!ok) this.#dbTimeouts.inc();
  }

  payment(ms: number, outcome: PaymentOutcome): void {
    this.#payment.observe({ outcome }, ms / 1000);
  }
}
