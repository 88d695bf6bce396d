/**
 * `receipt deploy`: asks a running system's control plane for a rolling deployment (POST /deploy → 202 + Location),
 * then follows the Location as its Retry-After says, printing each step as it happens. Exit 0 when every target was
 * replaced; 1 when the deployment stopped and rolled back (or could not start).
 */
import { request } from 'undici';
import { ConfigError } from '../config.ts';
import { parseRetryAfter } from '../http/index.ts';
import type { Deployment } from '../control/deploy.ts';
import type { Style } from './style.ts';

export async function runDeployCommand(opts: Record<string, string | boolean | undefined>, style: Style): Promise<number> {
  const base = String(opts.controlUrl ?? `http://127.0.0.1:${process.env.CONTROL_PORT ?? 9090}`).replace(/\/$/, '');
  const token = String(opts.controlToken ?? process.env.CONTROL_TOKEN ?? '');
  if (!token) throw new ConfigError('--control-token (or CONTROL_TOKEN) is needed: the control plane printed it at start');
  const headers = { authorization: `Bearer ${token}` };
  const body = { ...(typeof opts.version === 'string' ? { version: opts.version } : {}), ...(opts.unhealthy ? { healthy: false } : {}) };
  let res;
  try {
    res = await request(`${base}/deploy`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (e) {
    throw new ConfigError(`no control plane at ${base} (${(e as Error).message}); is the system started?`);
  }
  const first = (await res.body.json()) as Deployment & { detail?: string };
  if (res.statusCode !== 202) {
    console.error(`receipt deploy: ${res.statusCode} — ${first.detail ?? JSON.stringify(first)}`);
    return 1;
  }
  const location = String(res.headers.location);
  console.error(style.dim(`deployment ${first.id}: ${first.previous_version} → ${first.version}, progress at ${base}${location}`));
  let shown = 0;
  let wait = String(res.headers['retry-after'] ?? '1');
  for (;;) {
    await new Promise((r) => setTimeout(r, parseRetryAfter(wait, Date.now()) ?? 1000));
    const poll = await request(base + location, { headers });
    const d = (await poll.body.json()) as Deployment;
    for (const e of d.events.slice(shown)) console.log(`${style.dim(e.at.slice(11, 19))} ${e.event}`);
    shown = d.events.length;
    if (d.status === 'succeeded' || d.status === 'rolled_back') {
      if (opts.json) console.log(JSON.stringify(d, null, 2));
      console.error(d.status === 'succeeded' ? `deployed ${d.version}` : style.bold(`rolled back to ${d.previous_version}: ${d.reason}`));
      return d.status === 'succeeded' ? 0 : 1;
    }
    wait = String(poll.headers['retry-after'] ?? '1');
  }
}
