/**
 * The shop's seam for injected faults (docs/gateway.md, "The control plane"). The control plane writes one JSON document to the
 * `faults` table and NOTIFYs; every process LISTENs and keeps the latest copy, so a fault reaches every target
 * and the payment sandbox at once, and survives their restarts. Nothing here imports the control plane.
 */
import pg from 'pg';

export interface FaultDoc {
  payment_latency_ms?: number;
  payment_failure_rate?: number;
  db_pool_exhausted?: boolean;
  target_latency_ms?: number;
  malformed_target?: string;
  /** A route pattern whose handler throws: `POST /orders`, `/orders/:id`, or `*`. */
  throw_on?: string;
  maintenance?: boolean;
}

export const FAULTS_CHANNEL = 'receipt_faults';

export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

export class Faults {
  #doc: FaultDoc = {};
  #listener: pg.Client | undefined;
  #onChange: Array<(doc: FaultDoc) => void> = [];

  get current(): Readonly<FaultDoc> {
    return this.#doc;
  }

  /** For tests and single-process use; the system path is `listen`. */
  set(doc: FaultDoc): void {
    this.#doc = doc;
    for (const f of this.#onChange) f(doc);
  }

  onChange(f: (doc: FaultDoc) => void): void {
    this.#onChange.push(f);
  }

  /**
   * Follows the faults table: reads it now and after every NOTIFY, on a connection of its own (outside the pool),
   * and records the generation it applied (fault_acks), so the control plane can tell when every process follows.
   */
  async listen(url: string, process = 'receipt'): Promise<void> {
    const client = new pg.Client({ connectionString: url, application_name: 'receipt-faults' });
    client.on('error', () => {}); // a lost listener only stops fault updates; it must not take the process down
    await client.connect();
    this.#listener = client;
    const reload = async () => {
      const { rows } = await client.query<{ doc: FaultDoc; generation: string }>('SELECT doc, generation FROM faults WHERE id = 1');
      this.set(rows[0]?.doc ?? {});
      await client.query(
        `INSERT INTO fault_acks (listener_pid, process, generation) VALUES (pg_backend_pid(), $1, $2)
         ON CONFLICT (listener_pid) DO UPDATE SET process = EXCLUDED.process, generation = EXCLUDED.generation, at = now()`,
        [process, rows[0]?.generation ?? '0'],
      );
    };
    client.on('notification', () => void reload().catch(() => {}));
    await client.query(`LISTEN ${FAULTS_CHANNEL}`);
    await reload();
  }

  async close(): Promise<void> {
    await this.#listener?.end().catch(() => {});
  }

  /** The `throw_on` fault: the handler of a matching route throws, which the shop must answer as a bare 500. */
  maybeThrow(method: string, routeUrl: string): void {
    const pattern = this.#doc.throw_on;
    if (!pattern) return;
    const [m, p] = pattern.includes(' ') ? pattern.split(/\s+/, 2) : [undefined, pattern];
    if (m && m.toUpperCase() !== method) return;
    if (p === '*' || p === routeUrl || (p && p.endsWith('*') && routeUrl.startsWith(p.slice(0, -1)))) {
      throw new InjectedFault(`fault injected by throw_on=${pattern}`);
    }
  }
}

/** Writes the fault document for every process (used by the control plane and the tests); its new generation. */
export async function writeFaults(client: Pick<pg.Client, 'query'>, doc: FaultDoc): Promise<number> {
  const { rows } = await client.query<{ generation: string }>(
    `INSERT INTO faults (id, doc, generation) VALUES (1, $1, 1)
     ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, generation = faults.generation + 1 RETURNING generation`,
    [JSON.stringify(doc)],
  );
  await client.query(`SELECT pg_notify($1, '')`, [FAULTS_CHANNEL]);
  return Number(rows[0]!.generation);
}

/**
 * Waits until every living process that follows the faults has applied `generation` (or `timeoutMs` passes): the
 * names of those still behind — empty when all follow it. A process is living while its LISTEN connection is.
 */
export async function waitForFaults(client: Pick<pg.Client, 'query'>, generation: number, timeoutMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ process: string }>(
      `SELECT a.process FROM fault_acks a JOIN pg_stat_activity s ON s.pid = a.listener_pid WHERE a.generation < $1 ORDER BY a.process`,
      [generation],
    );
    if (rows.length === 0 || Date.now() >= deadline) return rows.map((r) => r.process);
    await new Promise((r) => setTimeout(r, 20));
  }
}
