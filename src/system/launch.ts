/**
 * Starts the whole system on one machine (contract §1): PostgreSQL (embedded unless DATABASE_URL), the payment
 * sandbox and the shop target, each its own process. `stop()` takes them down in reverse order, the database last.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { seedDemoData } from '../shop/seed.ts';
import { Service } from './service.ts';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningSystem {
  shopUrl: string;
  paymentUrl: string;
  databaseUrl: string;
  /** Where the database is, for the banner. */
  database: { embedded: boolean; port: number; dataDir?: string };
  targets: Service[];
  sandbox: Service;
  stop(): Promise<void>;
}

export type Progress = (step: string) => void;

/** The secret that signs access tokens: made once, kept in DATA_DIR so tokens survive a restart. */
function jwtSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = crypto.randomBytes(32).toString('base64url');
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = '/' + name;
  return u.toString();
}

export interface LaunchOptions {
  progress?: Progress;
  /** Receives every service's log lines (JSON) instead of stdout. */
  onLog?: (service: string, line: string) => void;
}

export async function startSystem(config: Config, opts: LaunchOptions = {}): Promise<RunningSystem> {
  const progress = opts.progress ?? (() => {});
  const onLog = (name: string) => (opts.onLog ? { onLog: (line: string) => opts.onLog!(name, line) } : {});
  const cleanup: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
  };
  try {
    let embedded: EmbeddedServer | undefined;
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      progress(`starting embedded PostgreSQL (data in ${path.join(config.dataDir, 'pg')})`);
      embedded = await startEmbeddedPostgres(config.dataDir);
      cleanup.push(() => embedded!.stop());
      databaseUrl = await ensureDatabase(embedded.url, 'receipt');
    }
    progress('applying migrations');
    await migrate(databaseUrl);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await seedDemoData(client).finally(() => client.end());

    const common = {
      DATABASE_URL: databaseUrl,
      HOST: config.host,
      LOG_LEVEL: config.logLevel,
      DB_POOL_SIZE: String(config.dbPoolSize),
      DB_ACQUIRE_TIMEOUT_MS: String(config.dbAcquireTimeoutMs),
      ACCESS_TOKEN_TTL_S: String(config.accessTokenTtlS),
      GATEWAY_IDLE_TIMEOUT_MS: String(config.gatewayIdleTimeoutMs),
      PAYMENT_TIMEOUT_MS: String(config.paymentTimeoutMs),
      RETRY_AFTER_S: String(config.retryAfterS),
    };

    progress('starting the payment sandbox');
    const sandbox = new Service({ name: 'payment-sandbox', entry: path.join(SRC, 'payment-sandbox/server.ts'), env: { ...common, PORT: '0' }, ...onLog('payment-sandbox') });
    await sandbox.start();
    cleanup.push(() => sandbox.stop());
    const paymentUrl = `http://${config.host}:${sandbox.port}`;

    progress('starting the shop target');
    const target = new Service({
      name: 'shop-1',
      entry: path.join(SRC, 'shop/server.ts'),
      env: { ...common, PORT: String(config.port), RECEIPT_TARGET_ID: 'shop-1', RECEIPT_PAYMENT_URL: paymentUrl, RECEIPT_JWT_SECRET: jwtSecret(config.dataDir) },
      ...onLog('shop-1'),
    });
    await target.start();
    cleanup.push(() => target.stop());

    return {
      shopUrl: `http://${config.host}:${target.port}`,
      paymentUrl,
      databaseUrl,
      database: embedded ? { embedded: true, port: embedded.port, dataDir: path.join(config.dataDir, 'pg') } : { embedded: false, port: Number(new URL(databaseUrl).port || 5432) },
      targets: [target],
      sandbox,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
