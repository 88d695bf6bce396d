/**
 * Asynchronous reports (docs/status-codes.md, "202"): POST answers at once with where to poll; the work is
 * done by a worker (src/shop/report-worker.ts), from a job that survives the crash of the target that accepted it.
 */
import crypto from 'node:crypto';
import { Type } from 'typebox';
import type { Db } from '../../db/pool.ts';
import { notFound } from '../decision/locate.ts';
import { defineRoute } from '../decision/types.ts';

const JobParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }) }, { additionalProperties: false });
const POLL_S = '2';

interface JobRow {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  result: unknown;
  created_at: Date;
  finished_at: Date | null;
}

const statusJson = (j: JobRow) => ({
  job_id: j.id,
  status: j.status,
  attempts: j.attempts,
  created_at: j.created_at.toISOString(),
  ...(j.status === 'done' ? { result: `/reports/${j.id}`, finished_at: j.finished_at?.toISOString() } : {}),
});

const JobStatus = Type.Object({
  job_id: Type.String(),
  status: Type.String({ description: 'queued · running · done · failed' }),
  attempts: Type.Integer(),
  created_at: Type.String(),
  result: Type.Optional(Type.String({ description: 'where the finished report is' })),
  finished_at: Type.Optional(Type.String()),
});

async function locateJob(ctx: { params: { id: string }; deps: { db: Db } }): Promise<JobRow> {
  const row = (
    await ctx.deps.db.query<JobRow>(`SELECT id::text AS id, status, attempts, result, created_at, finished_at FROM report_jobs WHERE id = $1`, [ctx.params.id])
  ).rows[0];
  if (!row) throw notFound('Report job', { job_id: ctx.params.id });
  return row;
}

export const reportRoutes = [
  defineRoute({
    method: 'POST',
    url: '/reports/generate',
    summary: 'Start a report (admin): 202 with where to poll',
    tags: ['reports'],
    access: 'admin',
    success: {
      202: {
        description: 'Queued; poll the Location, waiting Retry-After seconds between polls',
        schema: Type.Object({ job_id: Type.String(), status: Type.Literal('queued') }),
        headers: ['Location', 'Retry-After'],
      },
    },
    async handle({ deps, user }) {
      const id = crypto.randomUUID();
      await deps.db.query(`INSERT INTO report_jobs (id, requested_by, status) VALUES ($1, $2, 'queued')`, [id, user.id]);
      return { status: 202, body: { job_id: id, status: 'queued' }, headers: { location: `/reports/status/${id}`, 'retry-after': POLL_S } };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/reports/status/:id',
    summary: 'Where a report job is; Retry-After until it is done',
    tags: ['reports'],
    access: 'admin',
    schema: { params: JobParams },
    locate: locateJob,
    success: { 200: { description: 'The job’s status; when done, `result` names the report', schema: JobStatus, headers: ['Retry-After'] } },
    async handle({ resource }) {
      const waiting = resource.status === 'queued' || resource.status === 'running';
      return { status: 200, body: statusJson(resource), headers: { 'cache-control': 'no-store', ...(waiting ? { 'retry-after': POLL_S } : {}) } };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/reports/:id',
    summary: 'A finished report: orders by day and status',
    tags: ['reports'],
    access: 'admin',
    schema: { params: JobParams },
    async locate(ctx) {
      const job = await locateJob(ctx);
      if (job.status !== 'done') throw notFound('Report (not finished yet; see /reports/status/{id})', { job_id: job.id });
      return job;
    },
    success: {
      200: {
        description: 'The report',
        schema: Type.Object({ generated_by: Type.String(), rows: Type.Array(Type.Object({ day: Type.String(), status: Type.String(), orders: Type.Integer(), amount_cents: Type.Integer() })) }),
      },
    },
    async handle({ resource }) {
      return { status: 200, body: resource.result };
    },
  }),
];
