/**
 * The connection pool, bounded by DB_POOL_SIZE, with DB_ACQUIRE_TIMEOUT_MS as the longest wait for a connection.
 * A database that cannot be had in time is a dependency failure — 503 + Retry-After (docs/scenarios.md, "DB connection pool
 * exhausted") — never a hang and never a 500.
 */
import pg from 'pg';
import { DependencyUnavailable } from '../http/index.ts';

export interface DbOptions {
  url: string;
  poolSize: number;
  acquireTimeoutMs: number;
  /** Retry-After, in seconds, sent with the 503. */
  retryAfterS: number;
  applicationName?: string;
  /** Told how long each connection took to get, and whether it came (metrics). */
  onAcquire?: (waitMs: number, ok: boolean) => void;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

// SQLSTATE classes that mean "the database is not there for you right now", not "your SQL is wrong":
// 08 connection exception, 53 insufficient resources, 57P operator intervention (shutdown, crash recovery).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH']);

export function isUnavailable(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (typeof err?.code === 'string' && (UNAVAILABLE_SQLSTATE.test(err.code) || UNAVAILABLE_ERRNO.has(err.code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(err?.message ?? '');
}

export class Db {
  readonly pool: pg.Pool;
  readonly #opts: DbOptions;
  #held: pg.PoolClient[] = [];
  #exhausting = false;

  constructor(opts: DbOptions) {
    this.#opts = opts;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.acquireTimeoutMs,
      application_name: opts.applicationName ?? 'receipt',
    });
    // An idle connection that dies (server restart) must not crash the process; the next acquire reconnects.
    this.pool.on('error', () => {});
  }

  #unavailable(e: unknown): never {
    throw new DependencyUnavailable('database', this.#opts.retryAfterS, e);
  }

  async #acquire(): Promise<pg.PoolClient> {
    const t0 = performance.now();
    try {
      const client = await this.pool.connect();
      this.#opts.onAcquire?.(performance.now() - t0, true);
      return client;
    } catch (e) {
      this.#opts.onAcquire?.(performance.now() - t0, false);
      // Whatever stopped us from getting a connection in time, the answer is the same: not now.
      this.#unavailable(e);
    }
  }

  /**
   * `prepared`: a name for the statement, so each connection parses and plans it once and afterwards sends only
   * Bind and Execute (PostgreSQL's extended protocol) — for the reads on every request's path.
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], prepared?: string): Promise<pg.QueryResult<R>> {
    const client = await this.#acquire();
    try {
      return await (prepared ? client.query<R>({ name: prepared, text: sql, values: params }) : client.query<R>(sql, params));
    } catch (e) {
      if (isUnavailable(e)) this.#unavailable(e);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Runs `fn` in one transaction; rolls back on any throw. */
  async tx<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#acquire();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      if (isUnavailable(e)) this.#unavailable(e);
      throw e;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The `db_pool_exhausted` fault, made real: take every connection of this pool and keep it, so each acquire
   * waits DB_ACQUIRE_TIMEOUT_MS and fails exactly as an exhausted pool does. `release()` may come while this is
   * still acquiring; each acquire then checks it is still wanted, so nothing stays held after a release.
   */
  async exhaust(): Promise<void> {
    this.#exhausting = true;
    while (this.#exhausting && this.#held.length < this.#opts.poolSize) {
      const client = await this.pool.connect().catch(() => undefined);
      if (!client) {
        // Requests hold the rest, or the server is away: try again shortly rather than spin.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#exhausting) this.#held.push(client);
      else client.release();
    }
  }

  release(): void {
    this.#exhausting = false;
    for (const c of this.#held.splice(0)) c.release();
  }

  /** True from the moment the exhaustion fault is switched on until it is switched off. */
  get exhausted(): boolean {
    return this.#exhausting;
  }

  async close(): Promise<void> {
    this.release();
    await this.pool.end();
  }
}
