/** `receipt scenarios`: parse, start (or connect), play, print, exit code. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.ts';
import { formatMarkdown, formatResult, playScenarios, type Target } from '../scenarios/play.ts';
import { startSystem, type RunningSystem } from '../system/launch.ts';

type Style = { color: boolean; dim: (s: string) => string; bold: (s: string) => string };

export async function runScenariosCommand(opts: Record<string, string | boolean | undefined>, style: Style): Promise<number> {
  let system: RunningSystem | undefined;
  let tmp: string | undefined;
  let target: Target;
  const progress = (i: number, n: number, name: string) => {
    const line = `[${i}/${n}] ${name}`;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${style.dim(line)}`);
    else process.stderr.write(line + '\n');
  };
  try {
    if (typeof opts.url === 'string') {
      const u = new URL(opts.url);
      const dataDir = String(opts.dataDir ?? process.env.DATA_DIR ?? './.receipt');
      const secretFile = path.join(dataDir, 'jwt-secret');
      target = {
        url: opts.url.replace(/\/$/, ''),
        httpsUrl: String(opts.httpsUrl ?? `https://${u.hostname}:${process.env.HTTPS_PORT ?? 8443}`),
        controlUrl: String(opts.controlUrl ?? `http://${u.hostname}:${process.env.CONTROL_PORT ?? 9090}`),
        controlToken: String(opts.controlToken ?? process.env.CONTROL_TOKEN ?? ''),
        idleTimeoutMs: Number(opts.idleTimeoutMs),
        ...(fs.existsSync(secretFile) ? { jwtSecret: fs.readFileSync(secretFile, 'utf8').trim() } : {}),
      };
      if (!target.controlToken) throw new Error('--control-token (or CONTROL_TOKEN) is needed to inject faults');
    } else {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-scenarios-'));
      fs.chmodSync(tmp, 0o755);
      process.stderr.write(style.dim('… starting the system for the scenarios (a temporary DATA_DIR)\n'));
      const config = loadConfig({
        ...process.env,
        DATA_DIR: tmp,
        PORT: '0',
        HTTPS_PORT: '0',
        CONTROL_PORT: '0',
        LOG_LEVEL: 'warn',
        GATEWAY_IDLE_TIMEOUT_MS: '3000',
        REPORT_WORK_MS: '1500',
        RETRY_AFTER_S: '1',
      });
      // The services' JSON logs would bury the transcript: keep them out of stdout.
      system = await startSystem(config, { onLog: () => {} });
      target = {
        url: system.url,
        httpsUrl: system.httpsUrl,
        controlUrl: system.controlUrl,
        controlToken: system.controlToken,
        idleTimeoutMs: config.gatewayIdleTimeoutMs,
        jwtSecret: fs.readFileSync(path.join(tmp, 'jwt-secret'), 'utf8').trim(),
      };
    }
    const results = await playScenarios(target, progress);
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (opts.json) console.log(JSON.stringify(results, null, 2));
    else for (const r of results) console.log(formatResult(r));
    const failed = results.filter((r) => r.verdict === 'fail');
    const line = `scenarios — ${results.filter((r) => r.verdict === 'pass').length} of ${results.length} as the seed says (failed ${failed.length}, skipped ${results.filter((r) => r.verdict === 'skipped').length})`;
    console.error(failed.length ? style.bold(line) : line);
    if (typeof opts.write === 'string') fs.writeFileSync(opts.write, formatMarkdown(results, new Date()));
    return failed.length ? 1 : 0;
  } finally {
    await system?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
