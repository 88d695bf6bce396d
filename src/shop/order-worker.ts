/**
 * The async order worker, one per target process (the remedy for the 504 uncertainty: long work moved out of the
 * request; docs/status-codes.md). An order placed with `Prefer: respond-async` was answered 202 at once; this worker claims it from
 * PostgreSQL with FOR UPDATE SKIP LOCKED, keeps a heartbeat while the payment takes however long it takes, and pays
 * it through the same step as the synchronous routes (pay-order.ts). A worker that dies mid-payment leaves a claim
 * whose heartbeat goes stale; another target's worker takes the order, and the charge's key (the order's id) makes
 * the provider answer with the first charge: one order, one charge.
 *
 * The provider away (down, timing out, breaker open) is not a failure of the order: it is deferred with backoff and
 * tried again. Only the provider's definite decline fails it.
 */
import type { Db } from '../db/pool.ts';
import { DependencyUnavailable } from '../http/index.ts';
import type { Logger } from '../log.ts';
import { payOrder } from './pay-order.ts';
import type { PaymentProvider } from './payments.ts';
import { ORDER_CLAIM_STALE_MS, claimAsyncOrder, deferOrder, heartbeatOrder } from './store/orders.ts';

const HEARTBEAT_MS = ORDER_CLAIM_STALE_MS / 4;
/** Backoff after the provider was away: 1 s, 2 s, 4 s … capped here. */
const MAX_BACKOFF_MS = 30_000;

export interface OrderWorkerOptions {
  db: Db;
  payments: PaymentProvider;
  /** This worker's name, stored in claimed_by. */
  id: string;
  /** Orders paid at once by this worker. */
  concurrency?: number;
  pollMs?: number;
  logger: Logger;
}

export class OrderWorker {
  readonly #o: OrderWorkerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = 0;
  #stopped = false;

  constructor(o: OrderWorkerOptions) {
    this.#o = o;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.pollMs ?? 200);
    this.#timer.unref();
  }

  /** Waits for the payments under way: a stopping target finishes what it claimed (or its claim goes stale). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    while (this.#running > 0) await new Promise((r) => setTimeout(r, 50));
  }

  /** Fills the free slots with due orders; returns how many it claimed. */
  async tick(): Promise<number> {
    let claimed = 0;
    while (!this.#stopped && this.#running < (this.#o.concurrency ?? 4)) {
      this.#running++;
      let job;
      try {
        job = await claimAsyncOrder(this.#o.db, this.#o.id);
      } catch (err) {
        this.#running--;
        // The database away (pool exhausted, restarting): try again on the next tick.
        if (!(err instanceof DependencyUnavailable)) this.#o.logger.warn({ err }, 'order worker: claim');
        break;
      }
      if (!job) {
        this.#running--;
        break;
      }
      claimed++;
      void this.#run(job).finally(() => this.#running--);
    }
    return claimed;
  }

  async #run(job: NonNullable<Awaited<ReturnType<typeof claimAsyncOrder>>>): Promise<void> {
    const { db, id, logger } = this.#o;
    const orderId = job.order.id;
    const beat = setInterval(() => void heartbeatOrder(db, orderId, id).catch(() => {}), HEARTBEAT_MS);
    try {
      const paid = await payOrder(this.#o, job.order, job.paymentToken);
      logger.info({ order_id: orderId, attempt: job.attempts, result: paid.kind === 'paid' ? 'processing' : 'failed' }, 'async order paid');
    } catch (err) {
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(job.attempts - 1, 15));
      if (err instanceof DependencyUnavailable) logger.info({ order_id: orderId, attempt: job.attempts, dependency: err.init.extensions?.dependency, retry_in_ms: delay }, 'async order deferred');
      else logger.error({ err, order_id: orderId }, 'async order');
      await deferOrder(db, orderId, id, delay).catch(() => {});
    } finally {
      clearInterval(beat);
    }
  }
}
