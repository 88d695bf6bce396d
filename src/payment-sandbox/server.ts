/** The payment sandbox as its own process (the "external" provider). */
import { loadConfig } from '../config.ts';
import { Db } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { Faults } from '../faults.ts';
import { announceReady, onShutdown } from '../server/process.ts';
import { buildSandbox } from './app.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel, 'payment-sandbox');
const url = config.databaseUrl;
if (!url) {
  logger.fatal('DATABASE_URL must be set');
  process.exit(2);
}
const db = new Db({ url, poolSize: 10, acquireTimeoutMs: 5000, retryAfterS: 1, applicationName: 'payment-sandbox' });
const faults = new Faults();
await faults.listen(url, 'payment-sandbox');
const app = await buildSandbox({ db, faults }, logger);
await app.listen({ host: config.host, port: config.port });
announceReady((app.server.address() as { port: number }).port);
onShutdown(async () => {
  await app.close();
  await faults.close();
  await db.close();
});
