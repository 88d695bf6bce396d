/**
 * The payment sandbox: a small HTTP service standing for the external payment provider.
 *
 *   POST /charges        Idempotency-Key required; a repeated key answers the first charge and charges nothing
 *   GET  /charges/:id    one charge
 *   GET  /charges?reference=R   charges for a shop reference (for reconciliation)
 *
 * Faults (`payment_latency_ms`, `payment_failure_rate`) come from the shared faults document.
 */
import crypto from 'node:crypto';
import Fastify from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/pool.ts';
import { problemOf } from '../http/index.ts';
import { problemErrorHandler } from '../server/problems.ts';
import type { Logger } from '../log.ts';
import type { Faults } from '../faults.ts';

export interface SandboxDeps {
  db: Db;
  faults: Faults;
  /** Injected for tests; Math.random otherwise. */
  random?: () => number;
}

interface ChargeRow {
  id: string;
  idempotency_key: string;
  fingerprint: string;
  amount_cents: number;
  payment_token: string;
  reference: string | null;
  status: string;
  created_at: Date;
}

const COLS = `id, idempotency_key, fingerprint, amount_cents::int AS amount_cents, payment_token, reference, status, created_at`;
const chargeJson = (c: ChargeRow) => ({
  id: c.id,
  amount_cents: c.amount_cents,
  reference: c.reference,
  status: c.status,
  created_at: c.created_at.toISOString(),
});

/** A payment token the sandbox always declines (402), to watch an order fail. */
export const DECLINED_TOKEN = 'tok_declined';

export async function buildSandbox(deps: SandboxDeps, logger: Logger) {
  const random = deps.random ?? Math.random;
  const app = Fastify({ loggerInstance: logger, ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false } } });

  // The shared renderer also sends each problem's headers (Retry-After on the injected 503).
  app.setErrorHandler(problemErrorHandler());

  app.post(
    '/charges',
    {
      schema: {
        body: Type.Object(
          { amount_cents: Type.Integer({ minimum: 0 }), payment_token: Type.String({ minLength: 1 }), reference: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
        throw problemOf('malformed-request', { detail: 'Idempotency-Key header is required.', extensions: { field: 'Idempotency-Key' } });
      }
      const { faults } = deps;
      const latency = faults.current.payment_latency_ms ?? 0;
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      const failureRate = faults.current.payment_failure_rate ?? 0;
      if (failureRate > 0 && random() < failureRate) {
        throw problemOf('provider-unavailable', { detail: 'The payment provider is unavailable (injected failure).', headers: { 'retry-after': '1' } });
      }
      const body = req.body as { amount_cents: number; payment_token: string; reference?: string };
      // The test card that is always declined (as Stripe's test tokens are): a definite answer, nothing charged.
      if (body.payment_token === DECLINED_TOKEN) {
        throw problemOf('card-declined', { detail: 'The card was declined.', extensions: { decline_code: 'generic_decline' } });
      }
      const fp = crypto.createHash('sha256').update(JSON.stringify([body.amount_cents, body.payment_token, body.reference ?? null])).digest('hex');
      const id = 'ch_' + crypto.randomBytes(12).toString('hex');
      // The unique key decides: one INSERT wins, every repeat reads the winner's charge.
      const inserted = (
        await deps.db.query<ChargeRow>(
          `INSERT INTO sandbox.charges (id, idempotency_key, fingerprint, amount_cents, payment_token, reference, status)
           VALUES ($1, $2, $3, $4, $5, $6, 'succeeded') ON CONFLICT (idempotency_key) DO NOTHING RETURNING ${COLS}`,
          [id, key, fp, body.amount_cents, body.payment_token, body.reference ?? null],
        )
      ).rows[0];
      if (inserted) return reply.code(201).send(chargeJson(inserted));
      const first = (await deps.db.query<ChargeRow>(`SELECT ${COLS} FROM sandbox.charges WHERE idempotency_key = $1`, [key])).rows[0]!;
      if (first.fingerprint !== fp) throw problemOf('validation-failed', { detail: 'This Idempotency-Key was used for a different charge.', extensions: { errors: [{ field: 'Idempotency-Key', message: 'Used for a different charge' }] } });
      return reply.code(200).header('idempotent-replayed', 'true').send(chargeJson(first));
    },
  );

  app.get('/charges/:id', async (req) => {
    const { id } = req.params as { id: string };
    const row = (await deps.db.query<ChargeRow>(`SELECT ${COLS} FROM sandbox.charges WHERE id = $1`, [id])).rows[0];
    if (!row) throw problemOf('not-found', { detail: 'No such charge.' });
    return chargeJson(row);
  });

  app.get('/charges', async (req) => {
    const { reference } = req.query as { reference?: string };
    const rows = (await deps.db.query<ChargeRow>(`SELECT ${COLS} FROM sandbox.charges WHERE reference = $1 ORDER BY created_at`, [reference ?? ''])).rows;
    return rows.map(chargeJson);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
