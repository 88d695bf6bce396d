/**
 * Every knob of the system, read once from the environment (the README's Configuration table). CLI flags of the same
 * meaning override these before they reach here. Defaults are the contract's.
 */
import path from 'node:path';

export interface Config {
  /** Address every listener binds. */
  host: string;
  /** The gateway's HTTP listener. 0 = any free port. */
  port: number;
  httpsPort: number;
  controlPort: number;
  controlToken: string | undefined;
  /** Where the embedded database and generated files live. */
  dataDir: string;
  /** Your PostgreSQL server; undefined → the embedded one. */
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  targets: number;
  gatewayIdleTimeoutMs: number;
  accessTokenTtlS: number;
  checkoutRateLimit: number;
  rateLimit: number;
  dbPoolSize: number;
  dbAcquireTimeoutMs: number;
  /** Seconds a client is told to wait when a dependency is unavailable (Retry-After on 503). */
  retryAfterS: number;
  /** How long the shop waits for the payment provider; longer than the gateway's idle timeout on purpose (docs/reliability.md, the 504 uncertainty problem). */
  paymentTimeoutMs: number;
  /** Consecutive payment-provider failures that open the circuit breaker. */
  paymentBreakerFailures: number;
  /** How long the open breaker refuses at once before letting one call try (half-open). */
  paymentBreakerHalfOpenMs: number;
  logLevel: string;
  /** A gateway configuration file (JSON, see src/gateway/config.ts); undefined → the contract's default. */
  gatewayConfigFile: string | undefined;
  /** Also write each access-log line to stdout as JSON. */
  accessLogJson: boolean;
  /** How long a report job's work takes (long enough to watch 202 polling). */
  reportWorkMs: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Env = process.env): Config {
  const idle = int(env, 'GATEWAY_IDLE_TIMEOUT_MS', 60_000, 1);
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, got "${databaseUrl}"`);
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 8080),
    httpsPort: int(env, 'HTTPS_PORT', 8443),
    controlPort: int(env, 'CONTROL_PORT', 9090),
    controlToken: env.CONTROL_TOKEN || undefined,
    dataDir: path.resolve(env.DATA_DIR || './.receipt'),
    databaseUrl,
    redisUrl: env.REDIS_URL || undefined,
    targets: int(env, 'TARGETS', 2, 1),
    gatewayIdleTimeoutMs: idle,
    accessTokenTtlS: int(env, 'ACCESS_TOKEN_TTL_S', 900, 1),
    checkoutRateLimit: int(env, 'CHECKOUT_RATE_LIMIT', 10, 1),
    rateLimit: int(env, 'RATE_LIMIT', 1000, 1),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 10, 1),
    dbAcquireTimeoutMs: int(env, 'DB_ACQUIRE_TIMEOUT_MS', 2000, 1),
    retryAfterS: int(env, 'RETRY_AFTER_S', 10, 0),
    paymentTimeoutMs: int(env, 'PAYMENT_TIMEOUT_MS', idle * 2, 1),
    paymentBreakerFailures: int(env, 'PAYMENT_BREAKER_FAILURES', 5, 1),
    paymentBreakerHalfOpenMs: int(env, 'PAYMENT_BREAKER_HALF_OPEN_MS', 10_000, 1),
    logLevel: env.LOG_LEVEL || 'info',
    gatewayConfigFile: env.GATEWAY_CONFIG || undefined,
    accessLogJson: env.ACCESS_LOG_JSON === '1' || env.ACCESS_LOG_JSON === 'true',
    reportWorkMs: int(env, 'REPORT_WORK_MS', 3000),
  };
}

/**
 * What the launcher tells each shop target process beyond the user's configuration — the process protocol, written
 * and read here only, so the variable names live in one place.
 */
export interface TargetProcess {
  id: string;
  paymentUrl: string;
  jwtSecret: string;
  metricsToken?: string;
  version: string;
  /** A release deployed to fail its health checks (`receipt deploy --unhealthy`). */
  unhealthy: boolean;
  /**
   * The load balancer that signs users in in front of this target (`x-amzn-oidc-data`, shop/auth/alb-identity.ts):
   * where its public keys are, and its ARN, the only signer trusted. Without them the field is ignored.
   */
  alb?: { keysUrl: string; arn: string };
}

export function targetProcessEnv(t: TargetProcess): Record<string, string> {
  return {
    RECEIPT_TARGET_ID: t.id,
    RECEIPT_PAYMENT_URL: t.paymentUrl,
    RECEIPT_JWT_SECRET: t.jwtSecret,
    ...(t.metricsToken ? { RECEIPT_METRICS_TOKEN: t.metricsToken } : {}),
    RECEIPT_VERSION: t.version,
    ...(t.unhealthy ? { RECEIPT_RELEASE_UNHEALTHY: '1' } : {}),
    ...(t.alb ? { RECEIPT_ALB_KEYS_URL: t.alb.keysUrl, RECEIPT_ALB_ARN: t.alb.arn } : {}),
  };
}

/** The target's side; a process started by hand (not by the launcher) must set the three required ones. */
export function readTargetProcess(env: Env = process.env): TargetProcess {
  const missing = ['RECEIPT_PAYMENT_URL', 'RECEIPT_JWT_SECRET'].filter((k) => !env[k]);
  if (missing.length) throw new ConfigError(`${missing.join(' and ')} must be set (the launcher sets them)`);
  return {
    id: env.RECEIPT_TARGET_ID || 'shop',
    paymentUrl: env.RECEIPT_PAYMENT_URL!,
    jwtSecret: env.RECEIPT_JWT_SECRET!,
    ...(env.RECEIPT_METRICS_TOKEN ? { metricsToken: env.RECEIPT_METRICS_TOKEN } : {}),
    version: env.RECEIPT_VERSION || 'v1',
    unhealthy: env.RECEIPT_RELEASE_UNHEALTHY === '1',
    ...(env.RECEIPT_ALB_KEYS_URL && env.RECEIPT_ALB_ARN ? { alb: { keysUrl: env.RECEIPT_ALB_KEYS_URL, arn: env.RECEIPT_ALB_ARN } } : {}),
  };
}
