/**
 * The shop built in-process for fast tests: real PostgreSQL (a fresh database), the real payment sandbox on a
 * loopback socket, and the shop app driven through inject() — no socket on the shop side.
 */
import { loadConfig, type Config } from '../../src/config.ts';
import { Db } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { buildSandbox } from '../../src/payment-sandbox/app.ts';
import { buildShop } from '../../src/shop/app.ts';
import type { AlbIdentity } from '../../src/shop/auth/alb-identity.ts';
import { Tokens } from '../../src/shop/auth/tokens.ts';
import { Faults } from '../../src/faults.ts';
import { PaymentProvider } from '../../src/shop/payments.ts';
import { RateLimits } from '../../src/shop/rate-limit.ts';
import { testDatabase, type TestDb } from './db.ts';

export interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  err?: { message: string; stack: string };
  [k: string]: unknown;
}

export async function shopUnderTest(env: Record<string, string> = {}, opts: { videoDir?: string; metricsToken?: string; albIdentity?: AlbIdentity } = {}) {
  const testDb: TestDb = await testDatabase();
  const config: Config = loadConfig({ DB_ACQUIRE_TIMEOUT_MS: '300', RETRY_AFTER_S: '10', ...env });
  const logs: LogLine[] = [];
  const sink = { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) };
  const db = new Db({ url: testDb.url, poolSize: config.dbPoolSize, acquireTimeoutMs: config.dbAcquireTimeoutMs, retryAfterS: config.retryAfterS });
  const faults = new Faults();
  const sandboxDb = new Db({ url: testDb.url, poolSize: 4, acquireTimeoutMs: 2000, retryAfterS: 1 });
  const sandbox = await buildSandbox({ db: sandboxDb, faults }, createLogger('silent', 'sandbox'));
  const sandboxUrl = await sandbox.listen({ host: '127.0.0.1', port: 0 });
  const tokens = new Tokens('test-secret-test-secret-test-secret', config.accessTokenTtlS, db);
  const payments = new PaymentProvider(sandboxUrl, config.paymentTimeoutMs, config.retryAfterS, undefined, {
    failures: config.paymentBreakerFailures,
    halfOpenAfterMs: config.paymentBreakerHalfOpenMs,
  });
  const rateLimits = new RateLimits({ checkout: config.checkoutRateLimit, general: config.rateLimit, store: { pg: db.pool }, retryAfterS: config.retryAfterS, prefix: `t${process.pid}` });
  const app = await buildShop({ config, db, tokens, payments, faults, rateLimits, ...(opts.albIdentity ? { albIdentity: opts.albIdentity } : {}) }, {
    logger: createLogger('info', 'shop', sink),
    ...(opts.videoDir ? { videoDir: opts.videoDir } : {}),
    ...(opts.metricsToken ? { metricsToken: opts.metricsToken } : {}),
  });
  await app.ready();

  async function login(username: 'alice' | 'bob' | 'admin'): Promise<string> {
    const res = await app.inject({ method: 'POST', url: '/auth/token', payload: { username, password: `${username}-pass` } });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
    return res.json().access_token as string;
  }

  return {
    app,
    db,
    testDb,
    tokens,
    faults,
    logs,
    login,
    bearer: async (u: 'alice' | 'bob' | 'admin') => ({ authorization: `Bearer ${await login(u)}` }),
    async close() {
      await app.close();
      await sandbox.close();
      await db.close();
      await sandboxDb.close();
      await testDb.drop();
    },
  };
}

export type ShopUnderTest = Awaited<ReturnType<typeof shopUnderTest>>;
