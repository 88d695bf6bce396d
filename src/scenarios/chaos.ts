/**
 * The chaos run: N orders placed through the SDK while faults come and go — a target killed and restarted, the
 * payment provider slower than the gateway's timeout (504s), the database pool exhausted (503s), the payment provider
 * failing until every breaker opens (503 + Retry-After), and once, in the middle, a rolling deployment. A quarter of
 * the orders are placed asynchronously (`Prefer: respond-async`: 202, then a worker pays them). Then, from the
 * database: orders made, duplicates, charges without an order, orders without a charge, and orders that ended
 * without a definite outcome. Every number but the first must be 0.
 *
 * The client side is what docs/status-codes.md asks of a careful client ("The 504 uncertainty"): every order has its
 * own reference and Idempotency-Key; after an uncertain failure the SDK checks by reference; an order found still
 * `pending` (its payment not confirmed, e.g. its target died mid-payment) is finished by sending the same request again
 * with the same key.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { request } from 'undici';
import { ConnectionError, ReceiptClient, ReceiptError, type Order } from '../client/index.ts';

export interface ChaosOptions {
  url: string;
  controlUrl: string;
  controlToken: string;
  databaseUrl: string;
  idleTimeoutMs: number;
  orders: number;
  concurrency: number;
  seconds: number;
  onProgress?: (done: number, total: number, fault: string) => void;
}

export interface ChaosReport {
  orders_made: number;
  duplicates: number;
  charges_without_an_order: number;
  orders_without_a_charge: number;
  without_a_definite_outcome: number;
  faults: string[];
  async_orders: number;
  requests_sent: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const run = crypto.randomBytes(4).toString('hex');
  const prefix = `chaos-${run}-`;
  const deadline = Date.now() + o.seconds * 1000;
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await request(o.controlUrl + path, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${o.controlToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, json: () => JSON.parse(text) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  /** Whichever target process serves now (a deployment replaces them all). */
  const someTarget = async () => ((await control('GET', '/targets')).json() as Array<{ id: string; process: string }>).find((t) => t.process === 'running')?.id;

  // Before any fault: products of this run, stocked for every order (the demo products hold 1,000 each).
  const admin = new ReceiptClient({ baseUrl: o.url, credentials: { username: 'admin', password: 'admin-pass' } });
  const products = [
    (await admin.createProduct({ name: `Chaos ${run} A`, price_cents: 1999, stock: o.orders })).id,
    (await admin.createProduct({ name: `Chaos ${run} B`, price_cents: 2999, stock: o.orders })).id,
  ];

  // ---- the faults, coming and going until the orders are placed ----
  const faults: string[] = [];
  let current = 'none';
  let ordersDone = false;
  let done = 0;
  let deployed = false;
  const faultLoop = (async () => {
    let killed: string | undefined;
    const plan: Array<[string, () => Promise<void>, () => Promise<void>, number]> = [
      [
        'target killed',
        async () => {
          killed = await someTarget();
          if (killed) await control('POST', `/targets/${killed}/kill`);
        },
        async () => {
          if (killed) await control('POST', `/targets/${killed}/start`);
        },
        1500,
      ],
      ['payment slower than the gateway timeout', async () => void (await control('PUT', '/faults', { payment_latency_ms: o.idleTimeoutMs + 700 })), async () => void (await control('DELETE', '/faults')), 3000],
      ['database pool exhausted', async () => void (await control('PUT', '/faults', { db_pool_exhausted: true })), async () => void (await control('DELETE', '/faults')), 1500],
      ['payment provider failing (breakers open)', async () => void (await control('PUT', '/faults', { payment_failure_rate: 1 })), async () => void (await control('DELETE', '/faults')), 2500],
    ];
    for (let i = 0; !ordersDone && Date.now() < deadline; i++) {
      // Once, when half the orders are placed: a rolling deployment of every target, under all that traffic.
      if (!deployed && done >= o.orders / 2) {
        deployed = true;
        current = 'rolling deployment';
        faults.push(current);
        const started = await control('POST', '/deploy', { version: `chaos-${run}` });
        const location = String(started.headers.location);
        while (started.status === 202 && Date.now() < deadline) {
          const d = (await control('GET', location)).json() as { status: string };
          if (d.status !== 'in_progress' && d.status !== 'rolling_back') break;
          await sleep(250);
        }
        current = 'none';
        continue;
      }
      const [name, on, off, ms] = plan[i % plan.length]!;
      current = name;
      faults.push(name);
      await on();
      await sleep(ms);
      await off();
      current = 'none';
      await sleep(1000);
    }
  })();

  // ---- the orders ----
  const t0 = Date.now();
  // At least one whole cycle of the faults (about 30 s with the deployment), so each one meets some of the orders.
  const spreadMs = Math.min(o.seconds * 500, 30_000);
  let next = 0;
  let indefinite = 0;
  let asyncOrders = 0;
  let requests = 0;
  const users = ['alice', 'bob'] as const;
  const worker = async (w: number) => {
    const user = users[w % users.length]!;
    const client = new ReceiptClient({ baseUrl: o.url, credentials: { username: user, password: `${user}-pass` }, retry: { limit: 3, maxDelayMs: 1500 } });
    try {
      while (next < o.orders) {
        const i = next++;
        // Orders are spread over one whole cycle of the faults at least, so each fault meets some of them.
        const startAt = t0 + (i * spreadMs) / o.orders;
        if (Date.now() < startAt) await sleep(startAt - Date.now());
        const reference = `${prefix}${i}`;
        const key = crypto.randomUUID();
        const input = { product_id: products[i % 2]!, quantity: 1, payment_token: 'tok_chaos', reference };
        // Every fourth order asks not to wait for its payment (the async answer to the 504 uncertainty).
        const async = i % 4 === 3;
        if (async) asyncOrders++;
        let order: Order | undefined;
        while (Date.now() < deadline) {
          try {
            order ??= (await client.createOrder(input, { idempotencyKey: key, async, pollTimeoutMs: Math.max(1000, deadline - Date.now()) })).order;
            if (order.status !== 'pending') break;
            // Found, but its payment is not confirmed: wait for it, then finish it with the same request and key.
            await sleep(500);
            const [now] = await client.listOrders({ reference });
            if (now?.status === 'processing') {
              order = now;
              break;
            }
            order = undefined;
          } catch (e) {
            // An async order still pending when its poll ran out is not lost: look again.
            const stillPending = !(e instanceof ReceiptError) && /still pending/.test((e as Error).message);
            const retryable = stillPending || e instanceof ConnectionError || (e instanceof ReceiptError && (e.status >= 500 || e.status === 409 || e.status === 429));
            if (!retryable) throw e;
            await sleep(300);
          }
        }
        if (order?.status !== 'processing') indefinite++;
        done++;
        o.onProgress?.(done, o.orders, current);
      }
    } finally {
      requests += client.requestsSent;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  ordersDone = true;
  await faultLoop;
  await control('DELETE', '/faults');

  // ---- the books, from the database ----
  const db = new pg.Client({ connectionString: o.databaseUrl });
  await db.connect();
  try {
    const one = async (sql: string) => Number((await db.query(sql, [`${prefix}%`])).rows[0].n);
    return {
      orders_made: await one(`SELECT count(*) AS n FROM orders WHERE reference LIKE $1`),
      duplicates:
        (await one(`SELECT count(*) AS n FROM (SELECT reference FROM orders WHERE reference LIKE $1 GROUP BY user_id, reference HAVING count(*) > 1) d`)) +
        (await one(`SELECT count(*) AS n FROM (SELECT reference FROM sandbox.charges WHERE reference LIKE $1 GROUP BY reference HAVING count(*) > 1) d`)),
      charges_without_an_order: await one(
        `SELECT count(*) AS n FROM sandbox.charges c WHERE c.reference LIKE $1 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.reference = c.reference AND o.charge_id = c.id)`,
      ),
      orders_without_a_charge: await one(`SELECT count(*) AS n FROM orders WHERE reference LIKE $1 AND (charge_id IS NULL OR status = 'pending')`),
      without_a_definite_outcome: indefinite,
      faults,
      async_orders: asyncOrders,
      requests_sent: requests,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
    };
  } finally {
    await db.end();
  }
}
