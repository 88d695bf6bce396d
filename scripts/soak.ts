/**
 * `npm run soak`: the proof at scale, not part of CI (it takes about ten minutes).
 *  1. `receipt chaos` — 10,000 orders, 32 at a time, while every fault cycles and a rolling deployment runs in the
 *     middle; the books from the database must balance.
 *  2. `receipt fuzz` — 100,000 requests generated from the OpenAPI document through the gateway; every answer judged.
 *  3. The gateway's HTTP/1.x parser against llhttp (test/gateway/parser-differential.test.ts) — 100,000 generated
 *     pipelines must be read the same way, and 20,000 malformed requests judged.
 * Each runs on a system of its own (a temporary DATA_DIR, the embedded PostgreSQL unless DATABASE_URL is set).
 */
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run soak [-- --orders N] [-- --requests N] [-- --parser-cases N]

The proof at scale (about ten minutes; not part of CI):
  receipt chaos --orders 10000 --concurrency 32   the books must balance
  receipt fuzz --requests 100000                  every answer as the contract says
  parser differential, 100000 cases               the gateway reads HTTP/1.x as llhttp does
Progress goes to stderr; exit status 1 when either fails.`);
  process.exit(0);
}
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

function run(title: string, argv: string[], env: Record<string, string> = {}): Promise<{ code: number; seconds: number }> {
  const t0 = Date.now();
  process.stderr.write(`\n=== ${title}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv[0]?.startsWith('--') ? argv : ['bin/receipt.js', ...argv], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('close', (code) => resolve({ code: code ?? 1, seconds: Math.round((Date.now() - t0) / 1000) }));
  });
}

const chaos = await run('receipt chaos: orders while every fault cycles', ['chaos', '--orders', flag('orders', '10000'), '--concurrency', '32', '--seconds', '600']);
const fuzz = await run('receipt fuzz: requests from the OpenAPI document', ['fuzz', '--requests', flag('requests', '100000')]);
const parser = await run('parser differential: the gateway against llhttp', ['--import', 'tsx', 'test/gateway/parser-differential.test.ts'], { PARSER_DIFF_RUNS: flag('parser-cases', '100000') });
console.log(
  `\nsoak: chaos ${chaos.code === 0 ? 'balanced' : 'FAILED'} in ${chaos.seconds} s · fuzz ${fuzz.code === 0 ? 'clean' : 'FAILED'} in ${fuzz.seconds} s · parser ${parser.code === 0 ? 'agrees' : 'FAILED'} in ${parser.seconds} s`,
);
process.exit(chaos.code === 0 && fuzz.code === 0 && parser.code === 0 ? 0 : 1);
