/** `receipt fuzz`: requests generated from the OpenAPI document, through the gateway of a system of its own. */
import { ReceiptClient } from '../client/index.ts';
import { ConfigError } from '../config.ts';
import { runFuzz, type FuzzReport } from '../scenarios/fuzz.ts';
import { withThrowawaySystem } from '../system/throwaway.ts';
import type { Style } from './style.ts';

/** A demo user's access token, through the SDK's sign-in. */
async function token(url: string, username: string): Promise<string> {
  try {
    return (await new ReceiptClient({ baseUrl: url }).signIn(username, `${username}-pass`)).access_token;
  } catch (e) {
    throw new ConfigError(`could not sign in as ${username} at ${url} (${(e as Error).message})`);
  }
}

export function formatFuzz(r: FuzzReport, style: Style): string {
  const bad = Object.values(r.counts).reduce((a, b) => a + b, 0);
  const statuses = Object.entries(r.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  return [
    `fuzz: ${r.requests} requests over ${r.operations} operations of the OpenAPI document in ${r.seconds} s (seed ${r.seed})`,
    `  answers: ${statuses}`,
    '',
    `  5xx answers                        ${r.counts['no-5xx']}`,
    `  4xx without a problem body         ${r.counts['problem-body']}`,
    `  stack traces, SQL, driver messages ${r.counts['nothing-internal']}`,
    `  statuses the document does not list ${r.counts['documented-status']}`,
    ...r.findings.map((f) => `  ✖ ${f.rule}: ${f.request.method} ${f.request.path.slice(0, 80)} → ${f.status} — ${f.detail.slice(0, 120)}`),
    '',
    bad === 0 ? 'every answer as the contract says' : style.bold('THE CONTRACT WAS BROKEN'),
  ].join('\n');
}

export async function runFuzzCommand(opts: Record<string, string | boolean | undefined>, style: Style): Promise<number> {
  const requests = Number(opts.requests);
  if (!Number.isInteger(requests) || requests < 1 || requests > 10_000_000) throw new ConfigError('--requests must be an integer from 1 to 10000000');
  const seed = opts.seed === undefined ? undefined : Number(opts.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new ConfigError('--seed must be an integer');
  const play = async (url: string) => {
    const report = await runFuzz({
      url,
      requests,
      ...(seed !== undefined ? { seed } : {}),
      tokens: [await token(url, 'alice'), await token(url, 'admin')],
      onProgress: (d, n) => {
        const line = `[${d}/${n}] requests judged`;
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${style.dim(line)}`);
        else if (d % Math.max(1000, Math.round(n / 20)) < 1000 || d === n) process.stderr.write(line + '\n');
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatFuzz(report, style));
    return Object.values(report.counts).some((n) => n > 0) ? 1 : 0;
  };
  if (typeof opts.url === 'string') return play(opts.url);
  process.stderr.write(style.dim('… starting the system for the fuzz run (a temporary DATA_DIR)\n'));
  return withThrowawaySystem('fuzz', { RATE_LIMIT: '10000000' }, {}, (system) => play(system.url));
}
