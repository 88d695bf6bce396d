/**
 * The report worker, one per target process. Jobs live in PostgreSQL; a worker claims the oldest waiting one with
 * FOR UPDATE SKIP LOCKED (so two workers never claim the same job at once), keeps a heartbeat while it works, and
 * finishes it only while it still holds the claim. A job whose worker died (its heartbeat is older than
 * STALE_MS) is claimed again by another: it survives the crash of the target that accepted it, and is done once.
 */
import type { Db } from '../db/pool.ts';
import type { Logger } from '../log.ts';

export const STALE_MS = 2000;
const HEARTBEAT_MS = 500;

export interface ReportWorkerOptions {
  db: Db;
  /** This worker's name, stored in claimed_by. */
  id: string;
  /** How long the work takes (too long to answer within the request): long enough to watch it poll. */
  workMs: number;
  pollMs?: number;
  logger: Logger;
}

interface Job {
  id: string;
  attempts: number;
}

export class ReportWorker {
  readonly #o: ReportWorkerOptions;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #stopped = false;

  constructor(o: ReportWorkerOptions) {
    this.#o = o;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.pollMs ?? 300);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    while (this.#busy) await new Promise((r) => setTimeout(r, 50));
  }

  /** Claims and runs at most one job. */
  async tick(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      const job = await this.#claim();
      if (job) await this.#run(job);
    } catch (err) {
      this.#o.logger.warn({ err }, 'report worker');
    } finally {
      this.#busy = false;
    }
  }

  async #claim(): Promise<Job | undefined> {
    const { rows } = await this.#o.db.query<Job>(
      `UPDATE report_jobs SET status = 'running', claimed_by = $1, heartbeat_at = now(), attempts = attempts + 1
        WHERE id = (SELECT id FROM report_jobs
                     WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $2))
                     ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
        RETURNING id, attempts`,
      [this.#o.id, STALE_MS / 1000],
    );
    return rows[0];
  }

  async #run(job: Job): Promise<void> {
    const { db, id } = this.#o;
    this.#o.logger.info({ job: job.id, attempt: job.attempts }, 'report job claimed');
    const end = Date.now() + this.#o.workMs;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(HEARTBEAT_MS, end - Date.now())));
      const { rowCount } = await db.query(`UPDATE report_jobs SET heartbeat_at = now() WHERE id = $1 AND claimed_by = $2 AND status = 'running'`, [job.id, id]);
      if (!rowCount) return; // someone else holds it now
    }
    const { rows } = await db.query(
      `SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD') AS day, status, count(*)::int AS orders, coalesce(sum(amount_cents), 0)::int AS amount_cents
         FROM orders GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    // Only the holder of the claim may finish: a job is done exactly once.
    const { rowCount } = await db.query(
      `UPDATE report_jobs SET status = 'done', result = $3, finished_at = now() WHERE id = $1 AND claimed_by = $2 AND status = 'running'`,
      [job.id, id, JSON.stringify({ generated_by: id, rows })],
    );
    this.#o.logger.info({ job: job.id, finished: rowCount === 1 }, 'report job finished');
  }
}
