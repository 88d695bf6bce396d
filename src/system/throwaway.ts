/**
 * A whole system in a temporary DATA_DIR, on free ports, with its services' logs kept out of stdout — for the
 * commands that play against a system of their own (`receipt scenarios`, `receipt chaos`). Removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../config.ts';
import { startSystem, type LaunchOptions, type RunningSystem } from './launch.ts';

export async function withThrowawaySystem<T>(
  name: string,
  env: Record<string, string>,
  launch: Pick<LaunchOptions, 'gatewayConfig'>,
  fn: (system: RunningSystem, config: Config, dataDir: string) => Promise<T>,
): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `receipt-${name}-`));
  fs.chmodSync(dataDir, 0o755); // the embedded server runs as `postgres` and must enter it
  try {
    const config = loadConfig({ ...process.env, DATA_DIR: dataDir, PORT: '0', HTTPS_PORT: '0', CONTROL_PORT: '0', LOG_LEVEL: 'warn', ...env });
    const system = await startSystem(config, { ...launch, onLog: () => {} });
    try {
      return await fn(system, config, dataDir);
    } finally {
      await system.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
