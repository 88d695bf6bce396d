/**
 * What is not an API route: the home page, the maintenance page, and the redirects (docs/status-codes.md, "3xx").
 *   /v1/{path}             → 308 to /{path}: permanent, and method and body are kept (RFC 9110 §15.4.9)
 *   /legacy/products/{id}  → 301 to /products/{id}: permanent; a client may turn POST into GET (§15.4.2)
 *   GET /                  → 200, or 302 to /maintenance.html in maintenance mode (§15.4.3, temporary)
 */
import type { FastifyInstance } from 'fastify';
import type { HTTPMethod } from 'find-my-way';
import type { ShopDeps } from './deps.ts';

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

const ALL: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerPages(app: FastifyInstance<any, any, any, any>, deps: ShopDeps): void {
  app.get('/', { schema: { hide: true } }, async (_req, reply) => {
    if (deps.faults.current.maintenance) return reply.code(302).header('location', '/maintenance.html').header('cache-control', 'no-store').send();
    return reply
      .type('text/html; charset=utf-8')
      .send(page('Receipt', '<p>Every status for the right reason. The API is described at <a href="/docs">/docs</a>.</p>'));
  });
  app.get('/maintenance.html', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page('Down for maintenance', '<p>We will be back shortly.</p>')),
  );

  app.route({
    method: ALL,
    url: '/v1/*',
    schema: { hide: true },
    handler: async (req, reply) => {
      const rest = req.url.slice('/v1'.length) || '/';
      return reply.code(308).header('location', rest).send();
    },
  });
  app.get('/legacy/products/:id', { schema: { hide: true } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    return reply.code(301).header('location', `/products/${encodeURIComponent(id)}`).send();
  });
}
