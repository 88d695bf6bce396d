/**
 * The control plane: targets (kill, start, drain), faults, metrics. Every route but /healthz
 * needs `Authorization: Bearer {CONTROL_TOKEN}`.
 */
import crypto from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';
import { Type, type Static } from 'typebox';
import type { FaultDoc } from '../faults.ts';
import { writeFaults } from '../faults.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { formatBearerChallenge, HttpProblem } from '../http/index.ts';
import { problemErrorHandler } from '../server/problems.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics } from './metrics.ts';

/** What the control plane needs of one target process. */
export interface ControlledTarget {
  id: string;
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
  targets: Map<string, ControlledTarget>;
  databaseUrl: string;
  /** Listeners up (readiness needs them and one healthy target). */
  ready: () => boolean;
}

export const FaultSchema = Type.Object(
  {
    payment_latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    payment_failure_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    db_pool_exhausted: Type.Optional(Type.Boolean()),
    target_latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    malformed_target: Type.Optional(Type.String()),
    throw_on: Type.Optional(Type.String({ minLength: 1 })),
    maintenance: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export async function buildControl(deps: ControlDeps, logger: Logger) {
  const app = Fastify({ loggerInstance: logger, ajv: { customOptions: { coerceTypes: false, allErrors: true } } });
  const group = deps.gateway.group('shop');
  const db = new pg.Client({ connectionString: deps.databaseUrl, application_name: 'receipt-control' });
  db.on('error', () => {});
  await db.connect();
  app.addHook('onClose', async () => db.end());

  const expected = Buffer.from(`Bearer ${deps.token}`);
  app.addHook('onRequest', async (req) => {
    if (req.url === '/healthz') return;
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      throw new HttpProblem(401, {
        detail: 'The control plane needs Authorization: Bearer <CONTROL_TOKEN> (printed at start).',
        headers: { 'www-authenticate': formatBearerChallenge({ realm: 'receipt-control' }) },
      });
    }
  });
  app.setErrorHandler(problemErrorHandler());

  app.get('/healthz', async (_req, reply) => {
    const healthy = group.targets.some((t) => t.state === 'healthy');
    const ok = deps.ready() && healthy;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'starting', listeners: deps.ready(), healthy_targets: group.targets.filter((t) => t.state === 'healthy').length });
  });

  const describe = (id: string) => {
    const t = group.target(id);
    const proc = deps.targets.get(id);
    return {
      id,
      url: t ? `http://${t.address}` : null,
      state: t?.state ?? 'unused',
      reason: t?.reason ?? 'Target.NotRegistered',
      process: proc?.running ? 'running' : 'stopped',
      pid: proc?.running ? proc.pid : null,
      in_flight: t?.inflight ?? 0,
      // The newest health check, as ALB's describe-target-health explains a state.
      last_health_check: t?.lastCheck ? { ...t.lastCheck, at: new Date(t.lastCheck.at).toISOString() } : null,
    };
  };
  const known = (id: string) => {
    if (!deps.targets.has(id)) throw new HttpProblem(404, { detail: `No target ${id}.`, extensions: { target_id: id } });
    return deps.targets.get(id)!;
  };

  app.get('/targets', async () => [...deps.targets.keys()].map(describe));
  app.post('/targets/:id/kill', async (req) => {
    const { id } = req.params as { id: string };
    await known(id).kill();
    return describe(id);
  });
  app.post('/targets/:id/start', async (req) => {
    const { id } = req.params as { id: string };
    await known(id).start();
    return describe(id);
  });
  app.post('/targets/:id/drain', async (req, reply) => {
    const { id } = req.params as { id: string };
    known(id);
    group.deregister(id);
    // Accepted: draining finishes when in-flight requests do, or when the deregistration delay ends.
    return reply.code(202).send(describe(id));
  });

  const readFaults = async (): Promise<FaultDoc> => (await db.query<{ doc: FaultDoc }>('SELECT doc FROM faults WHERE id = 1')).rows[0]?.doc ?? {};
  app.get('/faults', async () => readFaults());
  app.put('/faults', { schema: { body: FaultSchema } }, async (req) => {
    const merged = { ...(await readFaults()), ...(req.body as Static<typeof FaultSchema>) };
    await writeFaults(db, merged);
    return merged;
  });
  app.delete('/faults', async (_req, reply) => {
    await writeFaults(db, {});
    return reply.code(204).send();
  });

  app.get('/metrics', async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  return app;
}
