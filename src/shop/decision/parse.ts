/**
 * Step 1 — "Request parseable?" → 400 (docs/pipeline.md).
 *
 * The first half happens before this step runs, in Fastify's body parser; its failures reach the error handler,
 * which renders them with `problemFromFrameworkError` below: a body over the limit → 413, a Content-Type that is
 * not JSON → 415 (RFC 9110 §15.5.16), malformed JSON → 400. The second half is here: the route's schema checks
 * types only (never ranges or existence — those are business rules, step 5, 422), and a mismatch answers 400
 * naming the field.
 */
import type { FastifyError } from 'fastify';
import { type FieldError, HttpProblem, problemOf } from '../../http/index.ts';
import type { Step } from './types.ts';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldOf(e: AjvError): string {
  if (e.keyword === 'required') return String(e.params.missingProperty);
  if (e.keyword === 'additionalProperties') return String(e.params.additionalProperty);
  // instancePath is a JSON Pointer (`/items/0/quantity`); errors name fields with dots, as a form would.
  return e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(body)';
}

function messageOf(e: AjvError): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'type':
      return `must be ${e.params.type === 'integer' ? 'an integer' : `of type ${String(e.params.type)}`}`;
    default:
      return e.message ?? 'is invalid';
  }
}

export function badRequest(where: string, errors: FieldError[]): HttpProblem {
  const first = errors[0] ?? { field: '(body)', message: 'is invalid' };
  return problemOf('malformed-request', {
    detail: `${first.field} ${first.message}`,
    extensions: { field: first.field, errors, in: where },
  });
}

/**
 * Values the schema's types let through but nothing behind them can hold: a number beyond the integers JSON carries
 * exactly (RFC 7493 §2.2, I-JSON: ±(2^53 − 1)) — `1e308` is an "integer" to JSON Schema and an overflow to
 * PostgreSQL — and a string with U+0000, which no PostgreSQL text can store. Both are malformed input: 400.
 */
function unrepresentable(value: unknown, path: string): FieldError | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER ? undefined : { field: path || '(body)', message: 'is too large a number' };
  if (typeof value === 'string') return value.includes('\u0000') ? { field: path || '(body)', message: 'must not contain U+0000' } : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = unrepresentable(v, path ? `${path}.${k}` : k);
    if (found) return found;
  }
  return undefined;
}

export const parse: Step = (ctx, route) => {
  const err = ctx.req.validationError as (Error & { validation?: AjvError[]; validationContext?: string }) | undefined;
  if (!err) {
    // Only what the route reads: an ignored query parameter or body is nobody's business.
    const schema = route.schema ?? {};
    for (const [where, value, read] of [['body', ctx.body, schema.body], ['querystring', ctx.query, schema.querystring], ['params', ctx.params, schema.params]] as const) {
      const found = read ? unrepresentable(value, '') : undefined;
      if (found) throw badRequest(where, [found]);
    }
    return undefined;
  }
  // The field that was sent wrong is the most useful one to name first (RFC 9457 §3: "the most relevant"),
  // then unknown fields, then missing ones.
  const rank = (e: AjvError) => (e.keyword === 'required' ? 2 : e.keyword === 'additionalProperties' ? 1 : 0);
  const errors = [...(err.validation ?? [])].sort((a, b) => rank(a) - rank(b)).map((e) => ({ field: fieldOf(e), message: messageOf(e) }));
  throw badRequest(err.validationContext ?? 'body', errors);
};

/** The framework's own client errors (raised before the pipeline runs), as problems. */
export function problemFromFrameworkError(e: FastifyError): HttpProblem | undefined {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problemOf('body-too-large', { detail: 'The request body is larger than this API accepts (64 KiB).' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? problemOf('unsupported-media-type', {
            detail: 'Send the request body as application/json.',
            headers: { 'accept-post': 'application/json' },
          })
        : problemOf('malformed-request', { detail: 'Content-Length does not match the body.' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('body', [{ field: '(body)', message: 'is empty; send a JSON object' }]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest('body', [{ field: '(body)', message: 'is not valid JSON' }]);
    case 'FST_ERR_BAD_URL':
      return badRequest('path', [{ field: '(path)', message: 'is not valid percent-encoding' }]);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // Longer than any id this API has: malformed, like an id with letters in it (not 414: the URI is not too long).
      return badRequest('path', [{ field: '(path)', message: 'has a parameter longer than any identifier' }]);
  }
  // Fastify's other 4xx (bad URL encoding, invalid JSON via the default parser's SyntaxError, prototype poisoning…).
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    if (e instanceof SyntaxError || /JSON/i.test(e.message)) return badRequest('body', [{ field: '(body)', message: 'is not valid JSON' }]);
    return new HttpProblem(status, { detail: 'The request could not be understood.' });
  }
  return undefined;
}
