import { PROBLEM_TYPES, type ProblemTypeName } from './problem-types.ts';
import { formatRetryAfter } from './retry-after.ts';
import { reasonPhrase } from './status.ts';

/** RFC 9457 media type; every 4xx/5xx body of the shop uses it. */
export const PROBLEM_JSON = 'application/problem+json';

/** Where the problem types are documented (RFC 9457 §3.1.1: a type URI SHOULD resolve to documentation). */
export const PROBLEM_TYPE_BASE = 'https://receipt.localhost/problems/';

/**
 * An RFC 9457 Problem Details object. `status` must equal the response's status (§3.1.2);
 * extension members (`field`, `errors`, `required_role`, `order_id`, …) sit beside the core ones.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

/** One business-rule or syntax violation, as a form can show it beside its field: `{field, message}`. */
export interface FieldError {
  field: string;
  message: string;
}

export interface ProblemInit {
  /**
   * Short slug appended to PROBLEM_TYPE_BASE: one of the catalogue (problem-types.ts; use `problemOf`), or the
   * gateway's `gateway-<error_reason>`; without it, the status's reason phrase, slugged.
   */
  type?: ProblemTypeName | `gateway-${string}`;
  title?: string;
  detail: string;
  /** Response headers that belong to this problem (Allow, WWW-Authenticate, Retry-After, …). */
  headers?: Record<string, string>;
  extensions?: Record<string, unknown>;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * A failure that already knows its HTTP answer. Decision steps throw it; the error handler renders it.
 * Anything else that is thrown is a bug and becomes a bare 500.
 */
export class HttpProblem extends Error {
  readonly status: number;
  readonly init: ProblemInit;
  constructor(status: number, init: ProblemInit) {
    super(init.detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.init = init;
  }

  get headers(): Record<string, string> {
    return this.init.headers ?? {};
  }

  toProblem(instance?: string): Problem {
    return makeProblem(this.status, this.init, instance);
  }
}

export function makeProblem(status: number, init: ProblemInit, instance?: string): Problem {
  const title = init.title ?? reasonPhrase(status);
  const problem: Problem = {
    type: PROBLEM_TYPE_BASE + (init.type ?? slug(reasonPhrase(status))),
    title,
    status,
    detail: init.detail,
    ...init.extensions,
  };
  if (instance !== undefined) problem.instance = instance;
  return problem;
}

/** A problem of a type in the catalogue: its status and title come from there. */
export function problemOf(type: ProblemTypeName, init: Omit<ProblemInit, 'type' | 'title'>): HttpProblem {
  const entry: { status: number; title?: string } = PROBLEM_TYPES[type];
  return new HttpProblem(entry.status, { ...init, type, ...(entry.title ? { title: entry.title } : {}) });
}

/**
 * The 503 of a dependency that cannot serve the request now — the database, the payment provider, the rate-limit
 * store (step 7 of the decision tree, docs/pipeline.md) — with Retry-After (RFC 9110 §15.6.4, §10.2.3). `dependency` names which.
 */
export class DependencyUnavailable extends HttpProblem {
  constructor(dependency: string, retryAfterS: number, cause?: unknown) {
    super(PROBLEM_TYPES['dependency-unavailable'].status, {
      type: 'dependency-unavailable',
      detail: 'Service temporarily unavailable. Retry after the time given in Retry-After.',
      headers: { 'retry-after': formatRetryAfter(retryAfterS) },
      extensions: { dependency },
    });
    if (cause !== undefined) this.cause = cause;
  }
}

/** True when the value looks like a problem body (used by the SDK and by tests). */
export function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.status === 'number' && typeof v.title === 'string';
}
