/**
 * What a route can answer, derived from which decision steps apply to it — so the OpenAPI document lists every
 * status a route can really give, and cannot drift from the pipeline.
 */
import { reasonPhrase } from '../http/index.ts';
import { limitOf } from './decision/rate-limit.ts';
import type { AnyRoute } from './decision/types.ts';
import { Problem } from './routes/schemas.ts';

const HEADER_DOC: Record<string, string> = {
  Location: 'Where the new resource (or the redirect target) is',
  ETag: 'Strong entity tag of the representation (RFC 9110 §8.8.3)',
  'Cache-Control': 'Caching rules for this answer',
  'WWW-Authenticate': 'Bearer challenge (RFC 6750 §3)',
  'Retry-After': 'Seconds to wait before retrying (RFC 9110 §10.2.3)',
  'Idempotent-Replayed': '"true" when this is the stored first answer to an earlier request with the same key',
  'X-Request-Id': 'This request’s id; quote it to support',
  'Preference-Applied': 'The preferences of the Prefer header that were honoured (RFC 7240 §3)',
  Vary: 'Request fields the answer depends on (RFC 9110 §12.5.5)',
  'X-RateLimit-Limit': 'Requests allowed in the window',
  'X-RateLimit-Remaining': 'Requests left in the window',
  'X-RateLimit-Reset': 'When the window resets, epoch seconds',
  'RateLimit-Policy': 'draft-ietf-httpapi-ratelimit-headers: "name";q=<quota>;w=<window seconds>',
  RateLimit: 'draft-ietf-httpapi-ratelimit-headers: "name";r=<remaining>;t=<seconds to reset>',
};

const headers = (names: string[]) =>
  Object.fromEntries(['X-Request-Id', ...names].map((n) => [n, { type: 'string', description: HEADER_DOC[n] ?? n }]));

/** Every failure a route can answer, with why. */
export function problemsOf(route: AnyRoute): Map<number, { why: string; headers: string[] }> {
  const out = new Map<number, { why: string; headers: string[] }>();
  const add = (status: number, why: string, hdrs: string[] = []) => out.set(status, { why, headers: hdrs });
  const s = route.schema ?? {};
  // Any method but GET may carry content (RFC 9110 §9.3), and content this API cannot read is refused whether or not
  // the route wanted any.
  const carriesBody = route.method !== 'GET';
  if (s.body || s.params || s.querystring || carriesBody) add(400, 'Malformed request: bad JSON, wrong types, unknown fields (names the field)');
  if (carriesBody) {
    add(413, 'Body larger than 64 KiB');
    add(415, 'Body is not application/json');
  }
  if (route.access !== 'public') add(401, 'No, bad or expired access token', ['WWW-Authenticate']);
  if (route.access === 'admin') add(403, 'Signed in without the admin role (required_role)', ['WWW-Authenticate']);
  if (route.locate) add(404, 'No such resource, or not yours');
  if (route.locate && route.method !== 'POST') add(410, 'Removed for good');
  // If-Match binds every method, GET included (RFC 9110 §13.1.1).
  if (route.etag) add(412, 'If-Match does not match the current ETag', ['ETag']);
  if (route.validate) add(422, 'Business rules failed (every violation in errors[])');
  if (limitOf(route)) add(429, `The ${limitOf(route)} rate limit is spent`, ['Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy', 'RateLimit']);
  for (const [status, why] of Object.entries(route.extraProblems ?? {})) add(Number(status), why!, status === '401' ? ['WWW-Authenticate'] : status === '409' ? ['Retry-After'] : []);
  if (route.usesDatabase !== false) add(503, 'A dependency (database, payment provider) is unavailable', ['Retry-After']);
  add(500, 'Unexpected error; no details, quote X-Request-Id');
  return out;
}

/** Fastify `schema.response` for a route: success bodies (serialised by it) and problem documents. */
export function responsesOf(route: AnyRoute): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(route.success)) {
    if (!doc) continue;
    responses[status] =
      status === '204' || status === '304'
        ? { description: doc.description, headers: headers(doc.headers ?? []), type: 'null' }
        : { description: doc.description, headers: headers(doc.headers ?? []), ...doc.schema };
  }
  for (const [status, doc] of Object.entries(route.edge ?? {})) {
    if (doc) responses[status] = { description: doc.description, headers: headers(doc.headers ?? []), type: 'null' };
  }
  for (const [status, { why, headers: hdrs }] of problemsOf(route)) {
    responses[String(status)] = {
      description: `${reasonPhrase(status)} — ${why}`,
      headers: headers(hdrs),
      content: { 'application/problem+json': { schema: Problem } },
    };
  }
  return responses;
}
