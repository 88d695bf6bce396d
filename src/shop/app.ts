/**
 * The shop as a function from request to response: builds the Fastify app from the route table and the decision
 * pipeline. No socket here (tests use inject()); src/shop/server.ts listens.
 */
import crypto from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { bearerMatches, closeConnectionsInStages, formatBearerChallenge, problemOf } from '../http/index.ts';
import { problemErrorHandler, sendProblem } from '../server/problems.ts';
import type { Logger } from '../log.ts';
import { problemFromFrameworkError } from './decision/parse.ts';
import { runPipeline } from './decision/pipeline.ts';
import type { AnyRoute, Ctx } from './decision/types.ts';
import type { FaultDoc } from '../faults.ts';
import type { ShopDeps } from './deps.ts';
import { responsesOf } from './openapi.ts';
import { adminRoutes } from './routes/admin.ts';
import { authRoutes } from './routes/auth.ts';
import { orderRoutes } from './routes/orders.ts';
import { productRoutes } from './routes/products.ts';
import { userRoutes } from './routes/users.ts';
import { cartRoutes } from './routes/cart.ts';
import { checkoutRoutes } from './routes/checkout.ts';
import { reportRoutes } from './routes/reports.ts';
import { videoRoutes } from './routes/videos.ts';
import { registerPages } from './pages.ts';
import { ShopMetrics } from './metrics.ts';

export function routes(videoDir: string): AnyRoute[] {
  return [...authRoutes, ...productRoutes, ...orderRoutes, ...cartRoutes, ...checkoutRoutes, ...userRoutes, ...adminRoutes, ...reportRoutes, ...videoRoutes(videoDir)];
}

/** The route table (for documentation and tests; the media directory does not change the routes). */
export const ROUTES: readonly AnyRoute[] = routes('.');

/** Largest request body accepted (413 beyond): the API's bodies are small JSON objects. */
export const BODY_LIMIT = 64 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ShopOptions {
  logger: Logger;
  /** Where answers, durations and dependency timings are counted (one per target process). */
  metrics?: ShopMetrics;
  /** The bearer token GET /metrics asks for (the control plane's); without one the shop serves no /metrics. */
  metricsToken?: string;
  /** This target's id, for the faults aimed at one target (`malformed_target`). */
  targetId?: string;
  /** Where the videos are (DATA_DIR/videos). */
  videoDir?: string;
  /**
   * The release this process runs (a rolling deploy names it). `healthy: false` is a release that starts but fails
   * its health checks — what a deploy must notice and roll back.
   */
  release?: { version: string; healthy: boolean };
}

/**
 * One log line per request, when it is answered, carrying what Fastify's arrival line would have (method, url)
 * beside the status and time: the same facts as its two lines, half the logging work on every request.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { request: { method: request.method, url: request.url }, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    // The gateway checks every target every few seconds: what matters of those is when its health state changes,
    // which the gateway logs itself. Each check stays visible at LOG_LEVEL=debug.
    else if (request.url === '/healthz') reply.log.debug(fields, 'request completed');
    else reply.log.info(fields, 'request completed');
  }
}

export async function buildShop(deps: ShopDeps, opts: ShopOptions) {
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new OneLinePerRequest(),
    // Keep the gateway's (or client's) request id so one id follows a request through every log.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    },
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    // The router's own refusals (a path that is not valid percent-encoding, a path parameter longer than any id)
    // are malformed requests like any other: a 400 problem through the one renderer, not the framework's JSON.
    frameworkErrors: (err, req, reply) => problemErrorHandler({ clientError: problemFromFrameworkError })(err as FastifyError, req, reply),
    ajv: {
      // Types are checked strictly ("2" is not 2: 400); every mismatch is reported, not just the first.
      customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: false },
    },
  });
  // A 413 to an upload still arriving must reach the gateway before the connection closes (RFC 9112 §9.6).
  closeConnectionsInStages(app.server);

  // Every answer, counted by the decision step that decided it. Answers made outside the tree: the body parser's
  // (413, 415, malformed JSON — the first half of step 1, parse), the router's (404/405, `routing`), and
  // maintenance mode's.
  const metrics = opts.metrics ?? new ShopMetrics();
  const decidedBy = new WeakMap<object, string>();
  // The hooks below are callback-style: they run on every request, and an async hook costs a promise and a
  // microtask turn each time even when it has nothing to wait for.
  app.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const step = decidedBy.get(req) ?? (status < 400 ? 'success' : status === 413 || status === 415 || status === 400 ? 'parse' : 'routing');
    metrics.answer(req.routeOptions.url ?? 'unmatched', req.method, status, step, reply.elapsedTime / 1000);
    done();
  });
  // Only JSON bodies: anything else is 415 (contract: "415 for a non-JSON content type").
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    const faults = deps.faults.current;
    // Faults hit traffic; health checks keep seeing the target, so the effect stays visible.
    if (req.url === '/healthz' || (faults.malformed_target === undefined && !faults.target_latency_ms && !faults.maintenance)) return done();
    applyFaults(req, reply, faults).then(() => done(), done);
  });
  async function applyFaults(req: FastifyRequest, reply: FastifyReply, faults: Readonly<FaultDoc>): Promise<void> {
    if (faults.malformed_target !== undefined && faults.malformed_target === opts.targetId) {
      // Broken HTTP on the wire: a status line, then a line that is no header (the gateway must answer 502).
      reply.hijack();
      req.raw.socket.end('HTTP/1.1 200 OK\r\nthis line is not a header\r\n\r\n');
      return;
    }
    if (faults.target_latency_ms) await new Promise((r) => setTimeout(r, faults.target_latency_ms));
    // Maintenance mode (docs/status-codes.md, "5xx": 503 while under maintenance; 302 to /maintenance.html): before the decision tree,
    // because the whole service is closed; the home page redirects browsers, the API answers 503 + Retry-After.
    if (faults.maintenance && req.url !== '/' && req.url !== '/maintenance.html') {
      decidedBy.set(req, 'maintenance');
      throw problemOf('maintenance', {
        detail: 'Service temporarily unavailable for maintenance.',
        headers: { 'retry-after': String(deps.config.retryAfterS) },
      });
    }
  }

  // While shutting down, an answer in flight closes its connection after it, so a keep-alive client does not
  // hold the process open (server.close() only ends connections that are idle at that moment).
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (!app.server.listening) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setErrorHandler(problemErrorHandler({ clientError: problemFromFrameworkError }));

  // 405 needs to know which methods a path has (RFC 9110 §15.5.6: Allow MUST be sent): every route Fastify registers
  // — ours, the pages, the HEAD it adds for each GET — is copied into a router of methods as it is added.
  const methodsByPath = FindMyWay();
  const noop = () => {};
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat() as HTTPMethod[]) if (m !== 'OPTIONS' && !methodsByPath.hasRoute(m, r.url)) methodsByPath.on(m, r.url, noop);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Receipt shop API',
        version: '0.1.0',
        description: 'A checkout where every status comes for the right reason. Errors are RFC 9457 problem documents.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  registerPages(app, deps);
  for (const route of routes(opts.videoDir ?? './.receipt/videos')) {
    app.route({
      method: route.method,
      url: route.url,
      attachValidation: true,
      schema: {
        summary: route.summary,
        tags: route.tags,
        ...(route.access === 'public' ? {} : { security: [{ bearer: [] }] }),
        ...(route.schema?.body ? { body: route.schema.body } : {}),
        ...(route.schema?.params ? { params: route.schema.params } : {}),
        ...(route.schema?.querystring ? { querystring: route.schema.querystring } : {}),
        response: responsesOf(route),
      },
      handler: async (req, reply) => {
        const ctx: Ctx = {
          req,
          reply,
          body: req.body,
          params: req.params as Record<string, string>,
          query: req.query as Record<string, unknown>,
          deps,
          user: undefined,
          resource: undefined,
        };
        let outcome;
        try {
          outcome = await runPipeline(ctx, route);
        } finally {
          decidedBy.set(req, ctx.step ?? 'parse');
        }
        if (outcome.headers) reply.headers(outcome.headers);
        reply.code(outcome.status);
        // RFC 9110 §15.3.5 / §15.4.5: a 204 or 304 has no content at all.
        return outcome.status === 204 || outcome.status === 304 ? reply.send() : reply.send(outcome.body);
      },
    });
  }

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (opts.metricsToken) {
    // For the operator's Prometheus, not for shoppers: behind the control plane's token, even through the gateway.
    const token = opts.metricsToken;
    app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
      if (!bearerMatches(req.headers.authorization, token)) {
        throw problemOf('authentication-required', {
          detail: 'The metrics need Authorization: Bearer <CONTROL_TOKEN>.',
          headers: { 'www-authenticate': formatBearerChallenge({ realm: 'receipt-metrics' }) },
        });
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  const release = opts.release ?? { version: 'v1', healthy: true };
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) =>
    release.healthy
      ? { status: 'ok', version: release.version }
      : reply.code(503).send({ status: 'failing', version: release.version, detail: 'this release fails its health checks (deployed as a bad release)' }),
  );

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const allowed = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => methodsByPath.find(m as HTTPMethod, path));
    if (allowed.length === 0 || path.startsWith('/docs')) {
      return sendProblem(req, reply, problemOf('not-found', { detail: `Nothing at ${path}.` }));
    }
    const allow = [...allowed, 'OPTIONS'].join(', ');
    // RFC 9110 §9.3.7: OPTIONS describes what the resource supports.
    if (req.method === 'OPTIONS') return reply.code(204).header('allow', allow).send();
    return sendProblem(
      req,
      reply,
      problemOf('method-not-allowed', { detail: `${req.method} is not supported on ${path}.`, headers: { allow } }),
    );
  });

  return app;
}
