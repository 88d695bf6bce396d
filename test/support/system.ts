/**
 * The real system, started the way `npm start` starts it (src/system/launch.ts), on ephemeral ports, against a
 * fresh database; tests talk to it over real sockets only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
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

export async function systemUnderTest(env: Record<string, string> = {}, launch: Pick<LaunchOptions, 'gatewayConfig' | 'prometheus'> = {}) {
  const testDb: TestDb = await testDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-sys-'));
  fs.chmodSync(dataDir, 0o755);
  const logs: Array<Record<string, unknown> & { service: string }> = [];
  const config = loadConfig({ DATABASE_URL: testDb.url, PORT: '0', HTTPS_PORT: '0', CONTROL_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env });
  const system: RunningSystem = await startSystem(config, {
    ...launch,
    onLog: (service, line) => {
      try {
        logs.push({ service, ...(JSON.parse(line) as Record<string, unknown>) });
      } catch {
        logs.push({ service, msg: line });
      }
    },
  });

  async function call(method: string, url: string, opts: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await request(system.url + url, { method: method as 'GET', headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.body.text();
    return { statusCode: res.statusCode, headers: res.headers as Answer['headers'], body: text, json: () => JSON.parse(text) };
  }

  async function bearer(username: 'alice' | 'bob' | 'admin'): Promise<Record<string, string>> {
    const res = await call('POST', '/auth/token', { body: { username, password: `${username}-pass` } });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode}`);
    return { authorization: `Bearer ${res.json().access_token}` };
  }

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
