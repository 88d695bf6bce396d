/**
 * Bench: the shop's GET /products/:id as a bare Fastify route with `pg` — the same query on the same database,
 * the same JSON and strong ETag, none of the shop's steps. The shop target's CPU per request is compared with it.
 */
import Fastify from 'fastify';
import pg from 'pg';
import { ready } from './ready.ts';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = Fastify();
app.get<{ Params: { id: string } }>('/products/:id', async (req, reply) => {
  const { rows } = await pool.query(
    'SELECT id::int AS id, name, price_cents, stock, version, deleted_at IS NOT NULL AS deleted FROM products WHERE id = $1',
    [Number(req.params.id)],
  );
  const p = rows[0];
  if (!p) return reply.code(404).send({ status: 404 });
  const etag = `"p${p.id}-v${p.version}"`;
  if (req.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send();
  return reply.header('etag', etag).send({ id: p.id, name: p.name, price_cents: p.price_cents, stock: p.stock });
});
await app.listen({ host: '127.0.0.1', port: 0 });
ready(app.server);
