/**
 * The shop's client of the payment provider (the sandbox, standing for an external API).
 * Every charge carries an Idempotency-Key derived from the order, so a retried checkout can never charge twice:
 * the provider answers a repeated key with the first charge.
 */
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleType, type CircuitBreakerPolicy } from 'cockatiel';
import { request } from 'undici';
import { DependencyUnavailable } from '../http/index.ts';

export interface Charge {
  id: string;
  amount_cents: number;
  status: string;
}

export interface ChargeRequest {
  idempotencyKey: string;
  amount_cents: number;
  payment_token: string;
  reference: string;
}

export type PaymentOutcome = 'charged' | 'unavailable' | 'declined' | 'refused';

/** The provider's definite no (402): the card was declined. Nothing was charged; the order cannot be paid. */
export class PaymentDeclined extends Error {
  override name = 'PaymentDeclined';
  constructor(readonly reason: string) {
    super(`payment declined: ${reason}`);
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures (unreachable, timed out, 5xx, 429) that open it. */
  failures: number;
  /** How long it stays open before one call may try again. */
  halfOpenAfterMs: number;
}

/**
 * The payment provider behind a circuit breaker (cockatiel): after `failures` consecutive calls that found it away,
 * the breaker opens and every charge is refused at once — a 503 whose Retry-After is the time until it half-opens —
 * with no call made and, since the dependencies step checks it first, nothing written. Half-open lets one call
 * through; its success closes the breaker. One breaker per target process: each target learns of the provider's
 * trouble by itself (docs/pipeline.md).
 */
export class PaymentProvider {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #retryAfterS: number;
  readonly #observe: ((ms: number, outcome: PaymentOutcome) => void) | undefined;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #halfOpenAfterMs: number;
  #openedAt = 0;

  constructor(
    baseUrl: string,
    timeoutMs: number,
    retryAfterS: number,
    observe?: (ms: number, outcome: PaymentOutcome) => void,
    breaker: BreakerOptions = { failures: 5, halfOpenAfterMs: 10_000 },
    /** Each change of the breaker's state; `halfOpenAt` (epoch ms) is when an open breaker lets a call try. */
    onBreakerState?: (state: BreakerState, halfOpenAt?: number) => void,
  ) {
    this.#base = baseUrl.replace(/\/$/, '');
    this.#timeoutMs = timeoutMs;
    this.#retryAfterS = retryAfterS;
    this.#observe = observe;
    this.#halfOpenAfterMs = breaker.halfOpenAfterMs;
    // Only the provider being away counts: a refused payment (a 4xx, our bug) says nothing of its health.
    this.#breaker = circuitBreaker(handleType(DependencyUnavailable), { halfOpenAfter: breaker.halfOpenAfterMs, breaker: new ConsecutiveBreaker(breaker.failures) });
    this.#breaker.onBreak(() => {
      this.#openedAt = Date.now();
      onBreakerState?.('open', this.#openedAt + this.#halfOpenAfterMs);
    });
    this.#breaker.onHalfOpen(() => onBreakerState?.('half-open'));
    this.#breaker.onReset(() => onBreakerState?.('closed'));
  }

  /**
   * Open: a charge now would be refused without a call. Once the half-open time has come, the breaker lets the next
   * call try (cockatiel moves to half-open on that call, not on a timer), so this turns false then.
   */
  get breakerOpen(): boolean {
    return this.#breaker.state === CircuitState.Open && Date.now() < this.#openedAt + this.#halfOpenAfterMs;
  }

  /** Seconds until the open breaker lets a call try again (at least 1): the Retry-After of its 503. */
  get retryAfterS(): number {
    return Math.max(1, Math.ceil((this.#openedAt + this.#halfOpenAfterMs - Date.now()) / 1000));
  }

  /** The 503 an open breaker answers with. */
  unavailable(): DependencyUnavailable {
    return new DependencyUnavailable('payments', this.retryAfterS);
  }

  async charge(c: ChargeRequest): Promise<Charge> {
    try {
      return await this.#breaker.execute(async () => {
        const t0 = performance.now();
        try {
          const charge = await this.#charge(c);
          this.#observe?.(performance.now() - t0, 'charged');
          return charge;
        } catch (e) {
          this.#observe?.(performance.now() - t0, e instanceof DependencyUnavailable ? 'unavailable' : e instanceof PaymentDeclined ? 'declined' : 'refused');
          throw e;
        }
      });
    } catch (e) {
      // Open (or half-open with its one call already out): no call was made.
      if (e instanceof BrokenCircuitError) throw this.unavailable();
      throw e;
    }
  }

  async #charge(c: ChargeRequest): Promise<Charge> {
    let res;
    try {
      res = await request(`${this.#base}/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': c.idempotencyKey },
        body: JSON.stringify({ amount_cents: c.amount_cents, payment_token: c.payment_token, reference: c.reference }),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (e) {
      // Refused, reset or timed out: we cannot know whether it charged. The order stays pending and the same
      // key makes a retry safe, so the client is told "try again later", not "failed".
      throw new DependencyUnavailable('payments', this.#retryAfterS, e);
    }
    const body = (await res.body.json().catch(() => undefined)) as Charge | undefined;
    if ((res.statusCode === 200 || res.statusCode === 201) && body?.id) return body;
    if (res.statusCode >= 500 || res.statusCode === 429) throw new DependencyUnavailable('payments', this.#retryAfterS);
    // 402: the provider's definite decline (Stripe's status for card errors). Says nothing of its health.
    if (res.statusCode === 402) throw new PaymentDeclined((body as { decline_code?: string } | undefined)?.decline_code ?? 'declined');
    // A 4xx from the provider means we sent it something wrong: our bug, a 500.
    throw new Error(`payment provider answered ${res.statusCode}`);
  }
}
