/**
 * `receipt deploy`: asks a running system's control plane for a rolling deployment (POST /deploy → 202 + Location),
 * then follows the Location as its Retry-After says, printing each step as it happens. Exit 0 when every target was
 * replaced; 1 when the deployment stopped and rolled back (or could not start).
 */
import { parseRetryAfter } from '../http/index.ts';
import type { Deployment } from '../control/deploy.ts';
import { call, connect, type ConnectionOptions, type TargetView } from './control.ts';
import type { Style } from './style.ts';

export async function runDeployCommand(opts: ConnectionOptions & { version?: string; unhealthy?: boolean; json?: boolean }, style: Style): Promise<number> {
  const c = await connect(opts);
  // Nothing to ask for: no body at all, and the control plane picks a fresh release name.
  const fields = { ...(opts.version !== undefined ? { version: opts.version } : {}), ...(opts.unhealthy ? { healthy: false } : {}) };
  const res = await call(c, 'POST', '/deploy', Object.keys(fields).length ? fields : undefined, {
    absent: 'this system has no deployments: they replace the target processes `receipt start` runs, and `receipt gateway` runs none',
  });
  const first = res.body as Deployment;
  const location = String(res.headers.location);
  console.error(style.dim(`deployment ${first.id}: ${first.previous_version} → ${first.version}, progress at ${c.url}${location}`));
  let shown = 0;
  let wait = String(res.headers['retry-after'] ?? '1');
  for (;;) {
    await new Promise((r) => setTimeout(r, parseRetryAfter(wait, Date.now()) ?? 1000));
    const poll = await call(c, 'GET', location);
    const d = poll.body as Deployment;
    for (const e of d.events.slice(shown)) console.log(`${style.dim(e.at.slice(11, 19))} ${e.event}`);
    shown = d.events.length;
    if (d.status === 'succeeded' || d.status === 'rolled_back') {
      if (opts.json) console.log(JSON.stringify(d, null, 2));
      if (d.status === 'succeeded') {
        console.error(`deployed ${d.version}`);
        // The targets have new names; the old ones still lead to them (the control plane follows each replacement).
        const now = (await call(c, 'GET', '/targets')).body as TargetView[];
        const names = now.map((t) => t.id + (t.former_names?.length ? ` (was ${t.former_names.join(', ')})` : ''));
        console.error(style.dim(`the targets now: ${names.join(', ')}; the old names still work`));
      } else console.error(style.bold(`rolled back to ${d.previous_version}: ${d.reason}`));
      return d.status === 'succeeded' ? 0 : 1;
    }
    wait = String(poll.headers['retry-after'] ?? '1');
  }
}
