/**
 * The control plane: targets (kill, start, drain), faults, metrics. Every route but /healthz
 * needs `Authorization: Bearer {CONTROL_TOKEN}`.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import { Type, type Static } from 'typebox';
import type { FaultDoc } from '../faults.ts';
import { waitForFaults, writeFaults } from '../faults.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { bearerMatches, formatBearerChallenge, problemOf, sameSecret } from '../http/index.ts';
import { problemErrorHandler } from '../server/problems.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { DashboardFeed } from './dashboard-feed.ts';
import { DASHBOARD_HTML } from './dashboard-page.ts';
import type { Deployer } from './deploy.ts';

/** What the control plane needs of one target process. */
export interface ControlledTarget {
  id: string;
  /** The release it runs (a deployment changes it). */
  version?: string;
  running: boolean;
  pid: number | undefined;
  kill(): Promise<void>;
  /** Starts the process again and registers it with the gateway. */
  start(): Promise<void>;
}

export interface ControlDeps {
  token: string;
  gateway: Gateway;
  metrics: GatewayMetrics;
  /** Target processes this system runs (kill / start); empty when the targets are someone else's. */
  targets: Map<string, ControlledTarget>;
  /** The fault document's database; without one the control plane has no /faults. */
  databaseUrl?: string;
  /** Listeners up (readiness needs them and one healthy target). */
  ready: () => boolean;
  /** The live dashboard's data; without it there is no /dashboard. */
  feed?: DashboardFeed;
  /** Rolling deployments of the target processes; without it there is no /deploy. */
  deployer?: Deployer;
}

/** The dashboard's login cookie: the control token, HttpOnly and SameSite=Strict (no other site can use it). */
const COOKIE = 'receipt_control';
const require_ = createRequire(import.meta.url);

export const FaultSchema = Type.Object(
  {
    payment_latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    payment_failure_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    db_pool_exhausted: Type.Optional(Type.Boolean()),
    target_latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    malformed_target: Type.Optional(Type.String()),
    throw_on: Type.Optional(Type.String({ minLength: 1 })),
    maintenance: Type.Optional(Type.Boolean()),
    // What GET adds: read-only, accepted back (a client may PUT what it read) and ignored.
    payment_breaker: Type.Optional(Type.Unknown({ readOnly: true })),
  },
  { additionalProperties: false },
);

export async function buildControl(deps: ControlDeps, logger: Logger) {
  const app = Fastify({ loggerInstance: logger, ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false } } });
  const groups = () => [...deps.gateway.groups.values()];
  const find = (id: string) => {
    for (const g of groups()) {
      const t = g.target(id);
      if (t) return { group: g, target: t };
    }
    return undefined;
  };
  let db: pg.Client | undefined;
  if (deps.databaseUrl) {
    db = new pg.Client({ connectionString: deps.databaseUrl, application_name: 'receipt-control' });
    db.on('error', () => {});
    await db.connect();
    const client = db;
    app.addHook('onClose', async () => client.end());
  }

  // A browser cannot send a bearer header on a page load; the dashboard logs in once with ?token= and a cookie.
  const byCookie = (cookie: string | undefined) =>
    (cookie ?? '').split(';').some((part) => {
      const [k, ...v] = part.trim().split('=');
      return k === COOKIE && sameSecret(v.join('='), deps.token);
    });
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz') return;
    // The login route checks the token it carries itself.
    if (deps.feed && req.routeOptions.url === '/dashboard' && (req.query as { token?: string }).token !== undefined) return;
    if (bearerMatches(req.headers.authorization, deps.token) || byCookie(req.headers.cookie)) return;
    if (deps.feed && req.routeOptions.url === '/dashboard') {
      return reply.code(401).type('text/html').send('<p>Open <code>/dashboard?token=&lt;CONTROL_TOKEN&gt;</code> (the token <code>receipt start</code> printed).</p>');
    }
    throw problemOf('authentication-required', {
      detail: 'The control plane needs Authorization: Bearer <CONTROL_TOKEN> (printed at start).',
      headers: { 'www-authenticate': formatBearerChallenge({ realm: 'receipt-control' }) },
    });
  });
  app.setErrorHandler(problemErrorHandler());
  // A route this control plane lacks (`receipt gateway` has no /faults, no /deploy) is a problem like any other 404.
  app.setNotFoundHandler(async (req) => {
    throw problemOf('not-found', { detail: `This control plane has no ${req.method} ${req.url.split('?')[0]}.` });
  });

  app.get('/healthz', async (_req, reply) => {
    const healthy = groups().reduce((n, g) => n + g.targets.filter((t) => t.state === 'healthy').length, 0);
    const ok = deps.ready() && healthy > 0;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'starting', listeners: deps.ready(), healthy_targets: healthy });
  });

  // A deployment replaces target processes (shop-1 by shop-3). The names a user saw — in the banner, in an earlier
  // /targets — lead to the process that took their place, so `kill shop-1` after a deployment still means something.
  // A system that runs the processes names them (a retired one may linger in the gateway while it stops); a gateway
  // in front of someone else's servers names what it registered.
  const exists = (id: string) => (deps.targets.size ? deps.targets.has(id) : find(id) !== undefined);
  const current = (id: string) => deps.deployer?.follow(id, exists) ?? id;
  const formerNames = (id: string) => deps.deployer?.formerNames(id, exists) ?? [];
  /** What a name a user gave points at no longer, said with the names there are now. */
  const unknown = (id: string, what: string) => {
    const now = ids();
    return problemOf('not-found', { detail: `No ${what} ${id}; the targets are ${now.length ? now.join(', ') : '(none)'}.`, extensions: { target_id: id } });
  };

  const describe = (id: string) => {
    const found = find(id);
    const t = found?.target;
    const proc = deps.targets.get(id);
    return {
      id,
      target_group: found?.group.name ?? null,
      url: t ? `http://${t.address}` : null,
      state: t?.state ?? 'unused',
      reason: t?.reason ?? 'Target.NotRegistered',
      // A target this system does not run (`receipt gateway` in front of your servers) is `external`.
      process: proc ? (proc.running ? 'running' : 'stopped') : 'external',
      ...(proc?.version ? { version: proc.version } : {}),
      pid: proc?.running ? proc.pid : null,
      in_flight: t?.inflight ?? 0,
      // The newest health check, as ALB's describe-target-health explains a state.
      last_health_check: t?.lastCheck ? { ...t.lastCheck, at: new Date(t.lastCheck.at).toISOString() } : null,
      // Names of targets it replaced (a deployment's), which the routes below still accept for it.
      former_names: formerNames(id),
    };
  };
  const known = (name: string) => {
    const id = current(name);
    const proc = deps.targets.get(id);
    if (proc) return proc;
    if (find(id)) {
      throw problemOf('not-found', {
        detail: `${id} is a server the gateway sends to, not a process this system runs: it can be drained and started (registered) again, not killed.`,
        extensions: { target_id: id },
      });
    }
    throw unknown(name, 'target process');
  };
  // The processes this system runs, or else every registered target of every group.
  const ids = () => (deps.targets.size ? [...deps.targets.keys()] : groups().flatMap((g) => g.targets.map((t) => t.id)));

  app.get('/targets', async () => ids().map(describe));
  app.post('/targets/:id/kill', async (req) => {
    const proc = known((req.params as { id: string }).id);
    await proc.kill();
    return describe(proc.id);
  });
  app.post('/targets/:id/start', async (req) => {
    const name = (req.params as { id: string }).id;
    const found = find(current(name));
    // Someone else's server (`receipt gateway`): starting it is registering it again after a drain.
    if (found && !deps.targets.has(found.target.id)) {
      found.group.register(found.target.id, found.target.host, found.target.port);
      return describe(found.target.id);
    }
    const proc = known(name);
    await proc.start();
    return describe(proc.id);
  });
  app.post('/targets/:id/drain', async (req, reply) => {
    const name = (req.params as { id: string }).id;
    const id = current(name);
    const found = find(id);
    if (!found) throw unknown(name, 'target');
    found.group.deregister(id);
    // Accepted: `draining` until its last request in flight ends, or the deregistration delay (then what still runs gets 502).
    return reply.code(202).send(describe(id));
  });

  const deployer = deps.deployer;
  if (deployer) {
    const DeployBody = Type.Object(
      {
        version: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,40}$' })),
        // A release that starts but fails its health checks: watch the deployment stop and roll back.
        healthy: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    );
    const where = (id: string) => `/deploys/${id}`;
    // 202: the deployment runs on after the answer (RFC 9110 §15.3.3); Location is where its progress is.
    // Every field has a default, so no body at all asks for a deployment of a fresh release (RFC 9110 §9.3.3
    // leaves a POST's content to the resource); a body that is there must still be the object above.
    const noBodyIsEmpty = async (req: { body: unknown }) => {
      if (req.body === undefined) req.body = {};
    };
    app.post('/deploy', { schema: { body: DeployBody }, preValidation: noBodyIsEmpty }, async (req, reply) => {
      const running = deployer.running;
      if (running) {
        throw problemOf('deployment-in-progress', {
          detail: `Deployment ${running.id} of ${running.version} is still in progress; one at a time.`,
          headers: { location: where(running.id) },
          extensions: { deployment_id: running.id },
        });
      }
      const body = (req.body ?? {}) as Static<typeof DeployBody>;
      const d = deployer.start(body.version ?? `v${Date.now().toString(36)}`, { healthy: body.healthy ?? true });
      return reply.code(202).header('location', where(d.id)).header('retry-after', '1').send(d);
    });
    app.get('/deploys/:id', async (req, reply) => {
      const { id } = req.params as { id: string };
      const d = deployer.get(id);
      if (!d) throw problemOf('not-found', { detail: `No deployment ${id}.`, extensions: { deployment_id: id } });
      if (d.status === 'in_progress' || d.status === 'rolling_back') reply.header('retry-after', '1');
      return reply.header('cache-control', 'no-store').send(d);
    });
  }

  if (db) {
    const client = db;
    const readFaults = async (): Promise<FaultDoc> => (await client.query<{ doc: FaultDoc }>('SELECT doc FROM faults WHERE id = 1')).rows[0]?.doc ?? {};
    // The faults in force, and what they did: each target's payment breaker (one per target process).
    const withBreakers = async (doc: FaultDoc) => {
      const { rows } = await client.query<{ target_id: string; state: string; half_open_at: Date | null; changed_at: Date }>(
        'SELECT target_id, state, half_open_at, changed_at FROM payment_breakers ORDER BY target_id',
      );
      const payment_breaker = Object.fromEntries(
        rows.map((r) => [
          r.target_id,
          { state: r.state, changed_at: r.changed_at.toISOString(), ...(r.state === 'open' && r.half_open_at ? { half_open_at: r.half_open_at.toISOString() } : {}) },
        ]),
      );
      return { ...doc, payment_breaker };
    };
    app.get('/faults', async () => withBreakers(await readFaults()));
    app.put('/faults', { schema: { body: FaultSchema } }, async (req) => {
      const { payment_breaker: _readOnly, ...sent } = req.body as Static<typeof FaultSchema>;
      // The fault names a target; a name a deployment replaced means its successor, as on /targets/:id.
      if (sent.malformed_target !== undefined) sent.malformed_target = current(sent.malformed_target);
      const merged = { ...(await readFaults()), ...sent };
      // The answer comes once every living process follows the document, so a client can act on it at once.
      const behind = await waitForFaults(client, await writeFaults(client, merged));
      return { ...(await withBreakers(merged)), ...(behind.length ? { not_yet_applied_by: behind } : {}) };
    });
    app.delete('/faults', async (_req, reply) => {
      await waitForFaults(client, await writeFaults(client, {}));
      return reply.code(204).send();
    });
  }

  app.get('/metrics', async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));

  const feed = deps.feed;
  if (feed) {
    app.get('/dashboard', async (req, reply) => {
      const token = (req.query as { token?: string }).token;
      if (token !== undefined) {
        if (!sameSecret(token, deps.token)) return reply.code(401).type('text/html').send('<p>That token is not the control token.</p>');
        // Into a cookie and out of the address bar (and the browser's history).
        return reply.header('set-cookie', `${COOKIE}=${deps.token}; HttpOnly; SameSite=Strict; Path=/`).redirect('/dashboard', 303);
      }
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(DASHBOARD_HTML);
    });
    const uplotDir = path.dirname(require_.resolve('uplot/dist/uPlot.iife.min.js'));
    const uplotJs = fs.readFileSync(path.join(uplotDir, 'uPlot.iife.min.js'));
    const uplotCss = fs.readFileSync(path.join(uplotDir, 'uPlot.min.css'));
    app.get('/dashboard/uplot.js', async (_req, reply) => reply.type('text/javascript').send(uplotJs));
    app.get('/dashboard/uplot.css', async (_req, reply) => reply.type('text/css').send(uplotCss));
    // Server-sent events: one snapshot a second while the page is open.
    app.get('/dashboard/events', (req, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const send = () => reply.raw.write(`data: ${JSON.stringify(feed.snapshot())}\n\n`);
      send();
      const timer = setInterval(send, 1000);
      req.raw.on('close', () => clearInterval(timer));
    });
  }
  return app;
}
