/**
 * How every server of ours (shop, control plane, payment sandbox) answers a failure: an RFC 9457 problem document
 * with its headers and the request id, and for anything that is not a known problem a bare 500 whose whole error
 * goes to the JSON log under that id (no stack, no internal message on the wire: docs/errors.md).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem, PROBLEM_JSON, problemOf } from '../http/index.ts';

export function sendProblem(req: FastifyRequest, reply: FastifyReply, p: HttpProblem): FastifyReply {
  const body = p.toProblem(req.url.split('?')[0]);
  body.request_id = String(req.id);
  for (const [name, value] of Object.entries(p.headers)) reply.header(name, value);
  return reply.code(p.status).type(PROBLEM_JSON).send(JSON.stringify(body));
}

/**
 * A Fastify error handler. `clientError` turns the framework's own 4xx (body too large, bad media type, …) into
 * problems; without it, any 4xx the framework raises keeps its status and message.
 */
export function problemErrorHandler(opts: { clientError?: (e: FastifyError) => HttpProblem | undefined } = {}) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof HttpProblem) return sendProblem(req, reply, err);
    const status = err.statusCode ?? 500;
    const client = opts.clientError ? opts.clientError(err) : status >= 400 && status < 500 ? new HttpProblem(status, { detail: err.message }) : undefined;
    if (client) return sendProblem(req, reply, client);
    req.log.error({ err }, 'unhandled error');
    return sendProblem(req, reply, problemOf('internal-error', { detail: 'An unexpected error occurred. Quote the X-Request-Id to support.' }));
  };
}
