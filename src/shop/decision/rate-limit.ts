/**
 * Step 6 — "Rate limit ok?" → 429 + Retry-After (docs/pipeline.md; docs/scenarios.md, "RATE LIMIT": the attempt over the limit).
 * After validation (docs/status-codes.md, "The order of the checks"): a request that was going to fail anyway does not spend a point.
 * Every answer on a limited route describes the limit (X-RateLimit-*, RateLimit-Policy, RateLimit); answers decided
 * before this step get the same fields read without spending (see `describeLimit`).
 */
import type { FastifyRequest } from 'fastify';
import { rateLimitHeaders, type LimitName } from '../rate-limit.ts';
import type { AnyRoute, Ctx, Step } from './types.ts';

/** Which limit a route spends: its own, or `general` for any signed-in route. */
export function limitOf(route: AnyRoute): LimitName | undefined {
  if (route.rateLimit === 'none') return undefined;
  return route.rateLimit ?? (route.access === 'public' ? undefined : 'general');
}

/**
 * The client's address: the rightmost X-Forwarded-For entry, which our gateway appended (ALB's X-Forwarded-For "append" mode, docs/gateway.md);
 * the socket's peer when no gateway is in front.
 */
export function clientAddress(req: FastifyRequest): string {
  const xff = req.headers['x-forwarded-for'];
  const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').pop()?.trim();
  return last || req.socket.remoteAddress || 'unknown';
}

const keyOf = (ctx: Ctx) => (ctx.user ? `user:${ctx.user.id}` : `ip:${clientAddress(ctx.req)}`);

export const rateLimit: Step = (ctx, route) => {
  const name = limitOf(route);
  return name ? consume(ctx, name) : undefined;
};

async function consume(ctx: Ctx, name: LimitName): Promise<undefined> {
  const state = await ctx.deps.rateLimits.consume(name, keyOf(ctx));
  ctx.reply.headers(rateLimitHeaders(state));
  ctx.limitDescribed = true;
  return undefined;
}

/** For an answer decided before step 6 on a limited route: the limit's fields, read without spending a point. */
/** Nothing to wait for (undefined) when the route has no limit or its answer already describes it. */
export function describeLimit(ctx: Ctx, route: AnyRoute): Promise<void> | undefined {
  const name = limitOf(route);
  return !name || ctx.limitDescribed ? undefined : describe(ctx, name);
}

async function describe(ctx: Ctx, name: LimitName): Promise<void> {
  try {
    ctx.reply.headers(rateLimitHeaders(await ctx.deps.rateLimits.peek(name, keyOf(ctx))));
  } catch {
    // The store is away: the answer goes out without the fields rather than failing a second time.
  }
}
