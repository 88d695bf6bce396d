/**
 * The real system, started the way `npm start` starts it (src/system/launch.ts), on ephemeral ports, against a
 * fresh database; tests talk to it over real sockets only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ensureBuilt } from '../../scripts/compile.mjs';
import { loadConfig } from '../../src/config.ts';
import { defaultGatewayConfig } from '../../src/gateway/config.ts';
import { startSystem, type LaunchOptions, type RunningSystem } from '../../src/system/launch.ts';
import { testDatabase, type TestDb } from './db.ts';

export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Calls to a system's gateway: any request, and a demo user's bearer header. */
function clientOf(baseUrl: string) {
  async function call(method: string, url: string, opts: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await request(baseUrl + url, { method: method as 'GET', headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.body.text();
    return { statusCode: res.statusCode, headers: res.headers as Answer['headers'], body: text, json: () => JSON.parse(text) };
  }

  async function bearer(username: 'alice' | 'bob' | 'admin'): Promise<Record<string, string>> {
    const res = await call('POST', '/auth/token', { body: { username, password: `${username}-pass` } });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode}`);
    return { authorization: `Bearer ${res.json().access_token}` };
  }
  return { call, bearer };
}

export async function systemUnderTest(env: Record<string, string> = {}, launch: Pick<LaunchOptions, 'gatewayConfig' | 'prometheus'> = {}) {
  const testDb: TestDb = await testDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-sys-'));
  fs.chmodSync(dataDir, 0o755);
  const logs: Array<Record<string, unknown> & { service: string }> = [];
  const config = loadConfig({ DATABASE_URL: testDb.url, PORT: '0', HTTPS_PORT: '0', CONTROL_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env });
  const system: RunningSystem = await startSystem(config, {
    ...launch,
    // The launcher runs here, as TypeScript; its targets and sandbox run compiled, as `npm start` runs them (and
    // start in half the CPU time tsx takes). build/ is compiled from the same sources, again if they changed.
    servicesDir: fileURLToPath(await ensureBuilt({ quiet: true })),
    onLog: (service, line) => {
      try {
        logs.push({ service, ...(JSON.parse(line) as Record<string, unknown>) });
      } catch {
        logs.push({ service, msg: line });
      }
    },
  });

  const { call, bearer } = clientOf(system.url);

  /** A control-plane call with the system's token (or `token`). */
  async function control(method: string, url: string, body?: unknown, token = system.controlToken): Promise<Answer> {
    const res = await request(system.controlUrl + url, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { statusCode: res.statusCode, headers: res.headers as Answer['headers'], body: text, json: () => JSON.parse(text) };
  }

  return {
    system,
    testDb,
    control,
    dataDir,
    logs,
    call,
    bearer,
    async stop() {
      await system.stop();
      await testDb.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type SystemUnderTest = Awaited<ReturnType<typeof systemUnderTest>>;

/**
 * The default gateway configuration with health checks several times a second, so a target's state changes within a
 * second (tests only); optionally a shorter idle timeout and deregistration delay.
 */
export function fastHealthChecks(o: { idleTimeoutMs?: number; deregistrationDelayMs?: number } = {}): NonNullable<LaunchOptions['gatewayConfig']> {
  return (ports) => {
    const c = defaultGatewayConfig(ports, o.idleTimeoutMs ?? 10_000);
    c.targetGroups[0]!.healthCheck = { path: '/healthz', intervalMs: 100, timeoutMs: 80, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' };
    if (o.deregistrationDelayMs !== undefined) c.targetGroups[0]!.deregistrationDelayMs = o.deregistrationDelayMs;
    return c;
  };
}

/** Polls until `check` passes or `timeoutMs` runs out (for state that other processes pick up asynchronously). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The configuration of the one system several black-box files share (they read, place their own orders, and need
 * no fault, no killed target, no admin's writes and no log of their own — the two audits of Receipt): two targets,
 * limits out of the way. The fuzzer does not share: its admin token may change the product the others buy.
 */
export const SHARED_ENV: Record<string, string> = { TARGETS: '2', RATE_LIMIT: '10000000', CHECKOUT_RATE_LIMIT: '1000000' };

/** What a file sharing the system may use of it. */
export interface SharedSystem {
  system: Pick<RunningSystem, 'url' | 'httpsUrl' | 'controlUrl' | 'controlToken' | 'accessLogFile'>;
  call: SystemUnderTest['call'];
  bearer: SystemUnderTest['bearer'];
  stop(): Promise<void>;
}

/**
 * The system `npm test` started once for the files that can share one (RECEIPT_TEST_SHARED_SYSTEM, set by
 * scripts/test.ts); a file run on its own starts its own with the same configuration.
 */
export async function sharedSystem(): Promise<SharedSystem> {
  const shared = process.env.RECEIPT_TEST_SHARED_SYSTEM;
  if (!shared) return systemUnderTest(SHARED_ENV);
  const system = JSON.parse(shared) as SharedSystem['system'];
  const { call, bearer } = clientOf(system.url);
  // Stopped by scripts/test.ts once every file is done.
  return { system, call, bearer, stop: async () => {} };
}

/** For scripts/test.ts: starts the shared system; its description for the test files, and how to stop it. */
export async function startSharedSystem(): Promise<{ description: string; stop: () => Promise<void> }> {
  const t = await systemUnderTest(SHARED_ENV);
  const { url, httpsUrl, controlUrl, controlToken, accessLogFile } = t.system;
  return { description: JSON.stringify({ url, httpsUrl, controlUrl, controlToken, accessLogFile }), stop: () => t.stop() };
}
