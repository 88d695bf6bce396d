/**
 * What a route is, as data, and what the decision steps share. A route says which checks apply to it
 * (schema, auth, locate, validate, …); the pipeline runs them in their order (docs/status-codes.md).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema, Static } from 'typebox';
import type { FieldError } from '../../http/index.ts';
import type { Principal } from '../auth/principal.ts';
import type { ShopDeps } from '../deps.ts';

export type { Principal, Role } from '../auth/principal.ts';

/** Who may call a route: anyone, any signed-in user, or admins only. */
export type Access = 'public' | 'user' | 'admin';

/** What the handler answers on success; the runner turns it into the HTTP response. */
export interface Outcome {
  status: 200 | 201 | 202 | 204 | 206 | 304;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Ctx<B = unknown, P = Record<string, string>, Q = Record<string, unknown>, R = unknown> {
  req: FastifyRequest;
  reply: FastifyReply;
  body: B;
  params: P;
  query: Q;
  deps: ShopDeps;
  /** Set by the authenticate step on protected routes. */
  user: Principal | undefined;
  /** Set by the locate step: the resource the request is about. */
  resource: R;
  /** Set by the rate-limit step once the answer carries the limit's fields. */
  limitDescribed?: boolean;
  /** The decision step running, or the one that decided (`success` when the handler answered). */
  step?: string;
}

/** A signed-in context: what handlers of protected routes see. */
export type AuthedCtx<B, P, Q, R> = Ctx<B, P, Q, R> & { user: Principal };

export interface SuccessDoc {
  description: string;
  schema?: TSchema;
  /** Response header names this answer carries (documented in OpenAPI). */
  headers?: string[];
}

export interface RouteSpec<B extends TSchema = TSchema, P extends TSchema = TSchema, Q extends TSchema = TSchema, R = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  tags: string[];
  access: Access;
  schema?: { body?: B; params?: P; querystring?: Q };
  /**
   * Step 4, for a creation: the earlier request this one repeats (same idempotency key or reference). When there is
   * one, its first answer is the answer (draft-ietf-httpapi-idempotency-key-header: a retry gets the first result).
   */
  replay?: (ctx: AuthedCtx<Static<B>, Static<P>, Static<Q>, undefined>) => Promise<Outcome | undefined>;
  /** Step 4: find the resource or throw 404/410. */
  locate?: (ctx: AuthedCtx<Static<B>, Static<P>, Static<Q>, undefined>) => Promise<R>;
  /** Step 4b: the resource's current strong ETag, for If-Match / If-None-Match (RFC 9110 §13.2). */
  etag?: (resource: R) => string;
  /** The Cache-Control its 200 carries; a 304 must carry the same (RFC 9110 §15.4.5). */
  cacheControl?: string;
  /** Step 5: every business-rule violation; an empty list passes. */
  validate?: (ctx: AuthedCtx<Static<B>, Static<P>, Static<Q>, R>) => Promise<FieldError[]> | FieldError[];
  /** Steps 8–9: does the work. Throwing anything but an HttpProblem is a bug: 500. */
  handle: (ctx: AuthedCtx<Static<B>, Static<P>, Static<Q>, R>) => Promise<Outcome>;
  /** Success answers, by status, for the OpenAPI document. */
  success: Partial<Record<Outcome['status'], SuccessDoc>>;
  /**
   * What the load balancer in front answers on this path before the shop sees the request (the default gateway of
   * `receipt start`): documented in the OpenAPI document, since a client meets it, and never returned by the handler.
   */
  edge?: Partial<Record<number, SuccessDoc>>;
  /** Failure answers this route makes besides those implied by its steps (e.g. 409), with why. */
  extraProblems?: Partial<Record<number, string>>;
  /** False for routes that never touch a dependency (no 503). Default true. */
  usesDatabase?: boolean;
  /** True for routes that charge: while the payment breaker is open they answer 503 before writing anything. */
  usesPayments?: boolean;
  /** The rate limit this route spends (step 6). Default: `general` for signed-in routes, none for public ones. */
  rateLimit?: 'checkout' | 'general' | 'none';
}

// The spec's generic parameters vary per route; the pipeline handles them uniformly.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteSpec<any, any, any, any>;

/** A decision step: passes (returns undefined) or decides the answer (returns an Outcome, or throws an HttpProblem). */
export type Step = (ctx: Ctx, route: AnyRoute) => Promise<Outcome | undefined> | Outcome | undefined;

/** Identity helper that keeps each route's schema types flowing into its functions. */
export function defineRoute<B extends TSchema, P extends TSchema, Q extends TSchema, R>(spec: RouteSpec<B, P, Q, R>): AnyRoute {
  return spec;
}
