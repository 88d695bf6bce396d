/**
 * Every problem type Receipt's servers answer (RFC 9457 §3.1.1: a type names one kind of problem, and each kind is
 * documented), in one place: its status, its title when it is not the status's reason phrase, when it happens, and
 * the extension members and header fields it carries. Problems are made from it (`problemOf`), so a type's status
 * and title cannot drift between the places that raise it, and docs/errors.md is checked against it by a test.
 *
 * Not here: the gateway's own answers, `gateway-<error_reason>`, which follow its failure table
 * (src/gateway/failures.ts, docs/gateway.md); and a 4xx the web framework raises without a type of ours, which
 * takes its reason phrase as type (`uri-too-long`).
 */
export interface ProblemTypeEntry {
  status: number;
  /** Only where it differs from the reason phrase of `status`. */
  title?: string;
  when: string;
  /** Extension members beside type, title, status, detail, instance and request_id. */
  members?: readonly string[];
  /** Header fields that belong to the problem. */
  headers?: readonly string[];
}

export const PROBLEM_TYPES = {
  'malformed-request': { status: 400, when: 'malformed JSON, wrong types, unknown fields, a bad Idempotency-Key', members: ['field', 'errors', 'in'] },
  'authentication-required': { status: 401, when: 'no credentials, not Bearer, or a wrong username or password', headers: ['WWW-Authenticate'] },
  'invalid-token': { status: 401, when: 'expired, bad signature, wrong alg, malformed', headers: ['WWW-Authenticate'] },
  'payment-declined': { status: 402, when: 'the payment provider declined the card; the order failed', members: ['order_id', 'failure'] },
  'card-declined': { status: 402, when: "the payment sandbox's own answer to the shop (the provider's API, not the shop's)", members: ['decline_code'] },
  'insufficient-permissions': { status: 403, title: 'Insufficient permissions', when: 'signed in without the needed role', members: ['required_role'], headers: ['WWW-Authenticate'] },
  'not-found': { status: 404, when: "absent, or someone else's", members: ['order_id', 'product_id', 'user_id', 'target_id', 'deployment_id'] },
  'method-not-allowed': { status: 405, when: 'a method the path lacks', headers: ['Allow'] },
  'request-in-flight': { status: 409, when: 'the same idempotency key (or reference) still being processed', headers: ['Retry-After'] },
  'email-taken': { status: 409, when: "another account's email", members: ['field'] },
  'out-of-stock': { status: 409, when: 'the product sold out meanwhile', members: ['field', 'product_id'] },
  'already-in-cart': { status: 409, when: "the product is in the cart already: change that line's quantity instead", members: ['existing_item_id'], headers: ['Location'] },
  'deployment-in-progress': { status: 409, when: "the control plane's POST /deploy while one runs", members: ['deployment_id'], headers: ['Location'] },
  gone: { status: 410, when: 'a deleted product, a cancelled order', members: ['product_id', 'order_id'] },
  'precondition-failed': { status: 412, when: 'If-Match no longer matches', headers: ['ETag'] },
  'body-too-large': { status: 413, when: 'a body over 64 KiB' },
  'unsupported-media-type': { status: 415, when: 'a body that is not application/json', headers: ['Accept-Post'] },
  'range-not-satisfiable': { status: 416, when: 'a Range wholly past the end of the video', headers: ['Content-Range'] },
  'validation-failed': { status: 422, title: 'Validation failed', when: 'business rules, or an idempotency key reused with another body', members: ['errors'] },
  'rate-limited': { status: 429, when: 'the checkout or general limit is spent', members: ['limit', 'window_s', 'retry_after_s'], headers: ['Retry-After', 'X-RateLimit-*', 'RateLimit-Policy', 'RateLimit'] },
  'internal-error': { status: 500, when: 'a bug (no Retry-After: it is not a capacity problem)' },
  'dependency-unavailable': { status: 503, when: 'the database pool exhausted or unreachable, the payment provider down or its circuit breaker open', members: ['dependency'], headers: ['Retry-After'] },
  'provider-unavailable': { status: 503, when: "the payment sandbox's injected failure (the provider's API, not the shop's; the shop answers dependency-unavailable)", headers: ['Retry-After'] },
  maintenance: { status: 503, when: 'maintenance mode (the maintenance fault)', headers: ['Retry-After'] },
} as const satisfies Record<string, ProblemTypeEntry>;

export type ProblemTypeName = keyof typeof PROBLEM_TYPES;
