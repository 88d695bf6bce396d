/** `receipt scenarios`: parse, start (or connect), play, print, exit code. */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.ts';
import { formatMarkdown, formatResult, playScenarios, type Target } from '../scenarios/play.ts';
import { withThrowawaySystem } from '../system/throwaway.ts';
import type { Style } from './style.ts';


export async function runScenariosCommand(opts: Record<string, string | boolean | undefined>, style: Style): Promise<number> {
  const progress = (i: number, n: number, name: string) => {
    const line = `[${i}/${n}] ${name}`;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${style.dim(line)}`);
    else process.stderr.write(line + '\n');
  };
  const play = async (target: Target): Promise<number> => {
    const results = await playScenarios(target, progress);
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (opts.json) console.log(JSON.stringify(results, null, 2));
    else for (const r of results) console.log(formatResult(r));
    const failed = results.filter((r) => r.verdict === 'fail');
    const line = `scenarios — ${results.filter((r) => r.verdict === 'pass').length} of ${results.length} as docs/status-codes.md says (failed ${failed.length}, skipped ${results.filter((r) => r.verdict === 'skipped').length})`;
    console.error(failed.length ? style.bold(line) : line);
    if (typeof opts.write === 'string') fs.writeFileSync(opts.write, formatMarkdown(results, new Date()));
    return failed.length ? 1 : 0;
  };

  if (typeof opts.url === 'string') {
    const u = new URL(opts.url);
    const dataDir = String(opts.dataDir ?? process.env.DATA_DIR ?? './.receipt');
    const secretFile = path.join(dataDir, 'jwt-secret');
    const controlToken = String(opts.controlToken ?? process.env.CONTROL_TOKEN ?? '');
    if (!controlToken) throw new ConfigError('--control-token (or CONTROL_TOKEN) is needed to inject faults');
    return play({
      url: opts.url.replace(/\/$/, ''),
      httpsUrl: String(opts.httpsUrl ?? `https://${u.hostname}:${process.env.HTTPS_PORT ?? 8443}`),
      controlUrl: String(opts.controlUrl ?? `http://${u.hostname}:${process.env.CONTROL_PORT ?? 9090}`),
      controlToken,
      idleTimeoutMs: Number(opts.idleTimeoutMs),
      ...(fs.existsSync(secretFile) ? { jwtSecret: fs.readFileSync(secretFile, 'utf8').trim() } : {}),
    });
  }
  process.stderr.write(style.dim('… starting the system for the scenarios (a temporary DATA_DIR)\n'));
  // A short gateway timeout so the 504 scenario takes seconds, not a minute; a breaker that half-opens in 3 s.
  const env = { GATEWAY_IDLE_TIMEOUT_MS: '3000', REPORT_WORK_MS: '1500', RETRY_AFTER_S: '1', PAYMENT_BREAKER_HALF_OPEN_MS: '3000' };
  return withThrowawaySystem('scenarios', env, {}, (system, config, dataDir) =>
    play({
      url: system.url,
      httpsUrl: system.httpsUrl,
      controlUrl: system.controlUrl,
      controlToken: system.controlToken,
      idleTimeoutMs: config.gatewayIdleTimeoutMs,
      jwtSecret: fs.readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim(),
    }),
  );
}
