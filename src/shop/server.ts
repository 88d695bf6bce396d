/**
 * One shop target process: reads its configuration, connects, listens, and stops gracefully (in-flight requests
 * finish) on SIGTERM. Started by the system launcher; can be run alone with DATABASE_URL and RECEIPT_PAYMENT_URL.
 */
import { AlbIdentity } from './auth/alb-identity.ts';
import { ConfigError, loadConfig, readTargetProcess, type TargetProcess } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { Db } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { announceReady, onShutdown } from '../server/process.ts';
import { buildShop } from './app.ts';
import { Tokens } from './auth/tokens.ts';
import { Faults } from '../faults.ts';
import { ShopMetrics } from './metrics.ts';
import { PaymentProvider } from './payments.ts';
import { RateLimits } from './rate-limit.ts';
import { ReportWorker } from './report-worker.ts';
import { OrderWorker } from './order-worker.ts';
import { forgetBreaker, recordBreakerState } from './store/breakers.ts';
import { pruneKeys } from './store/idempotency-keys.ts';
import path from 'node:path';
import { ensureSampleVideo } from './media.ts';
import { Redis } from 'ioredis';

// Configuration is read once, here: the user's (loadConfig) and what the launcher told this process.
const config = loadConfig();
let me: TargetProcess;
try {
  me = readTargetProcess();
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL must be set (the launcher sets it)');
} catch (e) {
  createLogger(config.logLevel, 'shop').fatal((e as Error).message);
  process.exit(2);
}
const { id, paymentUrl, jwtSecret: secret } = me;
const url = config.databaseUrl;
const logger = createLogger(config.logLevel, id);

await migrate(url);
const metrics = new ShopMetrics();
const db = new Db({
  url,
  poolSize: config.dbPoolSize,
  acquireTimeoutMs: config.dbAcquireTimeoutMs,
  retryAfterS: config.retryAfterS,
  applicationName: id,
  onAcquire: (ms, ok) => metrics.dbAcquire(ms, ok),
});
const faults = new Faults();
// The db_pool_exhausted fault is made real: this target takes every connection of its own pool and holds them.
faults.onChange((doc) => {
  if (doc.db_pool_exhausted && !db.exhausted) db.exhaust().catch((err) => logger.error({ err }, 'could not exhaust the pool'));
  else if (!doc.db_pool_exhausted && db.exhausted) db.release();
});
await faults.listen(url, id);
// Limits shared by every target: in Redis when REDIS_URL is set, else in PostgreSQL.
let redis: Redis | undefined;
if (config.redisUrl) {
  redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', (err) => logger.warn({ err }, 'redis'));
  await redis.connect();
}
const rateLimits = new RateLimits({
  checkout: config.checkoutRateLimit,
  general: config.rateLimit,
  store: redis ? { redis } : { pg: db.pool },
  retryAfterS: config.retryAfterS,
  // User ids are unique within one database only, and a Redis may serve several shops: keys name the database.
  prefix: `receipt:${new URL(url).pathname.slice(1) || 'default'}`,
});
const videoDir = path.join(config.dataDir, 'videos');
await ensureSampleVideo(videoDir);
const payments = new PaymentProvider(
  paymentUrl,
  config.paymentTimeoutMs,
  config.retryAfterS,
  (ms, outcome) => metrics.payment(ms, outcome),
  { failures: config.paymentBreakerFailures, halfOpenAfterMs: config.paymentBreakerHalfOpenMs },
  (state, halfOpenAt) => {
    metrics.breaker(state);
    logger.warn({ payment_breaker: state }, `payment circuit breaker ${state}`);
    // Where the control plane shows it, beside the faults (GET /faults).
    void recordBreakerState(db, id, state, halfOpenAt).catch(() => {});
  },
);
await recordBreakerState(db, id, 'closed');
const app = await buildShop(
  {
    config,
    db,
    faults,
    rateLimits,
    tokens: new Tokens(secret, config.accessTokenTtlS, db),
    payments,
    ...(me.alb ? { albIdentity: new AlbIdentity({ keysUrl: me.alb.keysUrl, signer: me.alb.arn }) } : {}),
  },
  {
    logger,
    targetId: id,
    videoDir,
    metrics,
    release: { version: me.version, healthy: !me.unhealthy },
    ...(me.metricsToken ? { metricsToken: me.metricsToken } : {}),
  },
);
await app.listen({ host: config.host, port: config.port });
announceReady((app.server.address() as { port: number }).port);
// Every target works on report jobs; a job accepted by one survives its crash (another claims it).
const worker = new ReportWorker({ db, id, workMs: config.reportWorkMs, logger });
worker.start();
// Orders accepted with Prefer: respond-async are paid here (one claim per order across all targets).
const orderWorker = new OrderWorker({ db, payments, id, logger });
orderWorker.start();
// Idempotency keys are kept KEY_TTL_S (24 h); forget older ones now and then.
const prune = setInterval(() => void pruneKeys(db).catch(() => {}), 3600_000);
prune.unref();

onShutdown(async () => {
  clearInterval(prune);
  await Promise.all([worker.stop(), orderWorker.stop()]);
  await app.close();
  await forgetBreaker(db, id).catch(() => {});
  await faults.close();
  await db.close();
  redis?.disconnect();
});
