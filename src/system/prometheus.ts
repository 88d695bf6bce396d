/**
 * `receipt start --prometheus`: Debian's Prometheus (when installed) scraping the control plane (the gateway's
 * metrics) and every shop target, with the shipped alert rules (ops/prometheus/alerts.yml). Its data lives in
 * DATA_DIR/prometheus and goes with the system.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../db/embedded.ts';

const RULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../ops/prometheus/alerts.yml');

export class PrometheusMissing extends Error {
  override name = 'PrometheusMissing';
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** The scrape configuration: every few seconds, so an incident shows while you watch. */
export function prometheusConfig(o: { controlAddress: string; targetAddresses: string[]; token: string; intervalS: number; rules: string }): string {
  const job = (name: string, addresses: string[]) => `
  - job_name: ${name}
    authorization: { type: Bearer, credentials: ${JSON.stringify(o.token)} }
    static_configs:
      - targets: [${addresses.map((a) => JSON.stringify(a)).join(', ')}]`;
  return `global:
  scrape_interval: ${o.intervalS}s
  evaluation_interval: ${o.intervalS}s
rule_files:
  - ${JSON.stringify(o.rules)}
scrape_configs:${job('receipt-gateway', [o.controlAddress])}${o.targetAddresses.length ? job('receipt-shop', o.targetAddresses) : ''}
`;
}

export async function startPrometheus(o: { dataDir: string; host: string; port?: number; controlAddress: string; targetAddresses: string[]; token: string; intervalS?: number }): Promise<RunningPrometheus> {
  if (spawnSync('prometheus', ['--version']).status !== 0) {
    throw new PrometheusMissing('--prometheus needs Prometheus: apt-get install prometheus (Debian’s package)');
  }
  const dir = path.join(o.dataDir, 'prometheus');
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, prometheusConfig({ ...o, intervalS: o.intervalS ?? 2, rules: RULES }));
  const port = o.port || (await freePort(o.host));
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=${o.host}:${port}`, '--storage.tsdb.retention.time=1d'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://${o.host}:${port}`;
  // Ready when its readiness endpoint says so (the rules loaded, the first scrapes planned).
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new PrometheusMissing(`Prometheus exited (${child.exitCode}): ${log.split('\n').slice(-3).join(' ')}`);
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new PrometheusMissing(`Prometheus did not become ready on ${url} within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
