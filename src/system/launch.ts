/**
 * Starts the whole system on one machine (README, "What is here"): PostgreSQL (embedded unless DATABASE_URL), the payment
 * sandbox and TARGETS shop targets, each its own process; the gateway in front of the targets and the control
 * plane, in this process. `stop()` drains and stops everything in reverse order, the database last.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { targetProcessEnv, type Config } from '../config.ts';
import { buildControl, type ControlledTarget } from '../control/server.ts';
import { DashboardFeed } from '../control/dashboard-feed.ts';
import { GatewayMetrics } from '../control/metrics.ts';
import { startPrometheus } from './prometheus.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../db/embedded.ts';
import { ensureDatabase, migrate } from '../db/migrate.ts';
import { AccessLog } from '../gateway/access-log.ts';
import { ConnectionLog } from '../gateway/connection-log.ts';
import { startConsoleSignIn, type ConsoleSignIn } from './sign-in.ts';
import { defaultGatewayConfig, loadGatewayConfigFile, type GatewayConfig } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { loadOrCreateCertificate } from '../gateway/tls.ts';
import { createLogger } from '../log.ts';
import { seedDemoData } from '../shop/seed.ts';
import { ensureSampleVideo } from '../shop/media.ts';
import { Service } from './service.ts';
import type { LiveLog } from './live-log.ts';
import { Deployer, type Fleet } from '../control/deploy.ts';
import { removeControlFile, writeControlFile } from '../control/control-file.ts';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The child processes run the way this module runs: `.js` as `receipt` and `npm start` run it (build/ in this
 * repository, dist/ in the package) — no transform per request; `.ts`, through tsx, only when TypeScript imports
 * this module directly and names no `servicesDir`.
 */
const EXT = path.extname(fileURLToPath(import.meta.url));

export interface RunningSystem {
  /** The gateway's HTTP listener: where clients go. */
  url: string;
  httpsUrl: string;
  controlUrl: string;
  controlToken: string;
  /** Whether the token was generated (then the banner prints it). */
  controlTokenGenerated: boolean;
  paymentUrl: string;
  databaseUrl: string;
  database: { embedded: boolean; port: number; dataDir?: string };
  accessLogFile: string;
  /** ALB's connection log: one line per client connection (gateway/connection-log.ts). */
  connectionLogFile: string;
  /** Prometheus's address, when started with it. */
  prometheusUrl?: string;
  /**
   * The admin console behind the load balancer's sign-in (default configuration only): the local OpenID provider's
   * issuer, and where the gateway publishes the key that signs x-amzn-oidc-data (`<keysUrl><kid>`).
   */
  signIn?: { consoleUrl: string; issuer: string; keysUrl: string };
  gateway: Gateway;
  /** The shop target processes serving now (a deployment replaces them). */
  targets: Service[];
  deployer: Deployer;
  sandbox: Service;
  stop(): Promise<void>;
}

export type Progress = (step: string) => void;

export interface LaunchOptions {
  progress?: Progress;
  /** Receives every service's log lines (JSON) instead of stdout. */
  onLog?: (service: string, line: string) => void;
  /** Replaces the gateway configuration (tests: faster health checks). Gets the resolved listener ports. */
  gatewayConfig?: (ports: { http: number; https: number }) => GatewayConfig;
  /** The terminal's log: every request and health-state change of the gateway, and the control plane's lines. */
  live?: LiveLog;
  /** Also start Debian's Prometheus scraping the gateway and every target, with the shipped alert rules. */
  prometheus?: boolean | { intervalS?: number };
  /**
   * A folder of compiled entries (`shop/server.js`, `payment-sandbox/server.js`) for the child processes, when
   * this module runs as TypeScript: the test harness passes build/, so the tests' targets run as users' do.
   */
  servicesDir?: string;
}

/** The secret that signs access tokens: made once, kept in DATA_DIR so tokens survive a restart. */
function jwtSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = crypto.randomBytes(32).toString('base64url');
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export async function startSystem(config: Config, opts: LaunchOptions = {}): Promise<RunningSystem> {
  const progress = opts.progress ?? (() => {});
  const onLog = (name: string) => (opts.onLog ? { onLog: (line: string) => opts.onLog!(name, line) } : {});
  const entry = (service: string) => (opts.servicesDir ? path.join(opts.servicesDir, `${service}.js`) : path.join(SRC, `${service}${EXT}`));
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
      PAYMENT_BREAKER_FAILURES: String(config.paymentBreakerFailures),
      PAYMENT_BREAKER_HALF_OPEN_MS: String(config.paymentBreakerHalfOpenMs),
      RETRY_AFTER_S: String(config.retryAfterS),
      CHECKOUT_RATE_LIMIT: String(config.checkoutRateLimit),
      RATE_LIMIT: String(config.rateLimit),
      REDIS_URL: config.redisUrl ?? '',
      REPORT_WORK_MS: String(config.reportWorkMs),
      DATA_DIR: config.dataDir,
    };
    progress('making the sample video (50 MiB, once)');
    await ensureSampleVideo(path.join(config.dataDir, 'videos'));

    progress('starting the payment sandbox');
    const sandbox = new Service({ name: 'payment-sandbox', entry: entry('payment-sandbox/server'), env: { ...common, PORT: '0' }, ...onLog('payment-sandbox') });
    await sandbox.start();
    cleanup.push(() => sandbox.stop());
    const paymentUrl = `http://${config.host}:${sandbox.port}`;

    // The gateway's listeners; a port of 0 is resolved first, because the redirect rules must name the HTTPS port.
    const http = config.port || (await freePort(config.host));
    const https = config.httpsPort || (await freePort(config.host));
    // The admin console's sign-in (system/sign-in.ts): a local OpenID provider, for the default configuration only —
    // a configuration of your own brings its own rules.
    let signIn: ConsoleSignIn | undefined;
    if (!opts.gatewayConfig && !config.gatewayConfigFile) {
      progress('starting the sign-in provider for the admin console');
      signIn = await startConsoleSignIn({ host: config.host, httpsPort: https });
      cleanup.push(() => signIn!.close());
    }
    const gatewayConfig = opts.gatewayConfig
      ? opts.gatewayConfig({ http, https })
      : config.gatewayConfigFile
        ? loadGatewayConfigFile(config.gatewayConfigFile)
        : defaultGatewayConfig({ http, https }, config.gatewayIdleTimeoutMs, signIn?.action);
    const accessLogFile = path.join(config.dataDir, 'access.log');
    const connectionLogFile = path.join(config.dataDir, 'connection.log');
    const metricsRef: { current?: GatewayMetrics; feed?: DashboardFeed } = {};
    const gateway = new Gateway({
      config: gatewayConfig,
      host: config.host,
      tls: await loadOrCreateCertificate(config.dataDir),
      accessLog: new AccessLog({ file: accessLogFile, json: config.accessLogJson }),
      connectionLog: new ConnectionLog({ file: connectionLogFile }),
      // The shop's lessons use Receipt's additions: problem documents from the gateway too, and X-Request-Id end to end.
      receiptExtras: true,
      onRecord: (r) => {
        metricsRef.current?.record(r);
        metricsRef.feed?.record(r);
        opts.live?.access(r);
      },
    });
    opts.live?.attach(gateway);
    const metrics = (metricsRef.current = new GatewayMetrics(gateway));
    const group = gateway.group('shop');

    // Listening at once: the ports chosen above are free only until something else binds them, and every target
    // started below binds a port of its own (a test run starts many systems side by side).
    progress('starting the gateway');
    await gateway.listen();
    const closeGateway = () => gateway.close();
    cleanup.push(closeGateway);

    progress(`starting ${config.targets} shop target${config.targets > 1 ? 's' : ''}`);
    const secret = jwtSecret(config.dataDir);
    // The control plane's token also guards each target's /metrics (for the operator's Prometheus).
    const controlToken = config.controlToken ?? crypto.randomBytes(18).toString('base64url');
    const targets: Service[] = [];
    const controlled = new Map<string, ControlledTarget>();
    let made = 0;
    /** A shop target process: started, then registered with the gateway (initial until its health checks pass). */
    const launchTarget = async (version: string, healthy = true): Promise<Service> => {
      const id = `shop-${++made}`;
      const service = new Service({
        name: id,
        entry: entry('shop/server'),
        env: {
          ...common,
          PORT: '0',
          ...targetProcessEnv({
            id,
            paymentUrl,
            jwtSecret: secret,
            metricsToken: controlToken,
            version,
            unhealthy: !healthy,
            // Who signs users in in front of the shop, so it can check x-amzn-oidc-data (shop/auth/alb-identity.ts).
            ...(gateway.publicKeysUrl ? { alb: { keysUrl: gateway.publicKeysUrl, arn: gateway.loadBalancerArn } } : {}),
          }),
        },
        ...onLog(id),
      });
      targets.push(service);
      controlled.set(id, {
        id,
        version,
        get running() {
          return service.running;
        },
        get pid() {
          return service.pid;
        },
        kill: () => service.kill(),
        async start() {
          // Back on the same port, so its registration (and the gateway's pool) stays the same.
          service.spec.env.PORT = String(service.port ?? 0);
          const port = await service.start();
          group.register(id, config.host, port);
        },
      });
      try {
        await service.start();
      } catch (e) {
        forget(id);
        throw e;
      }
      return service;
    };
    const forget = (id: string) => {
      controlled.delete(id);
      const i = targets.findIndex((t) => t.spec.name === id);
      if (i >= 0) targets.splice(i, 1);
    };
    const initial = await Promise.all(Array.from({ length: config.targets }, () => launchTarget('v1')));
    for (const t of initial) group.register(t.spec.name, config.host, t.port!);
    cleanup.push(async () => {
      await Promise.all(targets.map((t) => t.stop()));
    });
    // What a rolling deployment drives (deploy.ts): these processes and the gateway's view of them.
    const fleet: Fleet = {
      ids: () => targets.map((t) => t.spec.name),
      version: (id) => controlled.get(id)?.version ?? 'unknown',
      async launch(version, opts) {
        const service = await launchTarget(version, opts.healthy);
        group.register(service.spec.name, config.host, service.port!);
        return service.spec.name;
      },
      state: (id) => group.target(id)?.state,
      inflight: (id) => group.target(id)?.inflight ?? 0,
      deregister: (id) => void group.deregister(id),
      async retire(id) {
        const service = targets.find((t) => t.spec.name === id);
        forget(id);
        await service?.stop();
        await group.remove(id);
      },
    };
    const hc = group.config.healthCheck;
    const deployer = new Deployer(fleet, {
      // Starting a process takes a few seconds; then the healthy threshold's worth of passing checks.
      healthyTimeoutMs: 20_000 + hc.intervalMs * (hc.healthyThreshold + 1) + hc.timeoutMs,
      drainTimeoutMs: group.config.deregistrationDelayMs,
    });
    cleanup.push(() => deployer.settled());

    // Closed before the targets stop (cleanup runs in reverse), so requests in flight finish first.
    cleanup.splice(cleanup.indexOf(closeGateway), 1);
    cleanup.push(closeGateway);

    progress('starting the control plane');
    const feed = (metricsRef.feed = new DashboardFeed(gateway, controlToken));
    feed.deployments = deployer;
    const control = await buildControl(
      { token: controlToken, gateway, metrics, feed, targets: controlled, deployer, databaseUrl, ready: () => gateway.ports.length === gatewayConfig.listeners.length },
      createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'control', opts.live?.destination('control')),
    );
    await control.listen({ host: config.host, port: config.controlPort });
    cleanup.push(() => control.close());
    const controlPort = (control.server.address() as { port: number }).port;
    // Where a second terminal's `receipt targets`, `kill`, `faults`… find the control plane (control-file.ts).
    writeControlFile(config.dataDir, { url: `http://${config.host}:${controlPort}`, token: controlToken, kind: 'system' });
    cleanup.push(async () => removeControlFile(config.dataDir));

    let prometheusUrl: string | undefined;
    if (opts.prometheus) {
      progress('starting Prometheus (scraping the gateway and the targets, with the alert rules)');
      const prometheus = await startPrometheus({
        dataDir: config.dataDir,
        host: config.host,
        controlAddress: `${config.host}:${controlPort}`,
        targetAddresses: targets.map((t) => `${config.host}:${t.port}`),
        token: controlToken,
        ...(typeof opts.prometheus === 'object' && opts.prometheus.intervalS ? { intervalS: opts.prometheus.intervalS } : {}),
      });
      cleanup.push(() => prometheus.stop());
      prometheusUrl = prometheus.url;
    }

    const [httpPort, httpsPort] = gateway.ports;
    return {
      ...(prometheusUrl ? { prometheusUrl } : {}),
      url: `http://${config.host}:${httpPort}`,
      httpsUrl: `https://${config.host}:${httpsPort}`,
      controlUrl: `http://${config.host}:${controlPort}`,
      controlToken,
      controlTokenGenerated: config.controlToken === undefined,
      paymentUrl,
      databaseUrl,
      database: embedded ? { embedded: true, port: embedded.port, dataDir: path.join(config.dataDir, 'pg') } : { embedded: false, port: Number(new URL(databaseUrl).port || 5432) },
      accessLogFile,
      connectionLogFile,
      ...(signIn && gateway.publicKeysUrl ? { signIn: { consoleUrl: `https://localhost:${httpsPort}/console`, issuer: signIn.provider.issuer, keysUrl: gateway.publicKeysUrl } } : {}),
      gateway,
      targets,
      deployer,
      sandbox,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
