/**
 * The shop's client of the payment provider (the sandbox, standing for an external API).
 * Every charge carries an Idempotency-Key derived from the order, so a retried checkout can never charge twice:
 * the provider answers a repeated key with the first charge.
 */
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

export class PaymentProvider {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #retryAfterS: number;

  readonly #observe: ((ms: number, outcome: 'charged' | 'unavailable' | 'refused') => void) | undefined;

  constructor(baseUrl: string, timeoutMs: number, retryAfterS: number, observe?: (ms: number, outcome: 'charged' | 'unavailable' | 'refused') => void) {
    this.#base = baseUrl.replace(/\/$/, '');
    this.#timeoutMs = timeoutMs;
    this.#retryAfterS = retryAfterS;
    this.#observe = observe;
  }

  async charge(c: ChargeRequest): Promise<Charge> {
    const t0 = performance.now();
    try {
      const charge = await this.#charge(c);
      this.#observe?.(performance.now() - t0, 'charged');
      return charge;
    } catch (e) {
      this.#observe?.(performance.now() - t0, e instanceof DependencyUnavailable ? 'unavailable' : 'refused');
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
    // A 4xx from the provider means we sent it something wrong: our bug, a 500.
    throw new Error(`payment provider answered ${res.statusCode}`);
  }
}
