/**
 * The listener's rules decide what happens to a request (rules.ts), and the actions the gateway answers itself —
 * fixed-response, redirect — answer here, the same for a plain request, an HTTP/2 stream and an upgrade.
 */
import { FAILURES } from '../failures.ts';
import { forwardedHost, traceRoot } from '../headers.ts';
import { answerFailure, answerOwn } from '../respond/answer.ts';
import { applyTransforms, matchRule, redirectUrl } from '../rules.ts';
import type { RequestContext } from './context.ts';

export function route(ctx: RequestContext): true | void {
  const target = ctx.target;
  if (!target.ok) return answerFailure(ctx, FAILURES.invalidRequestTarget); // (the checks refused it already)
  ctx.path = target.path;
  ctx.query = target.query;
  // The context is both what a rule reads of the request and where it is matched from (host, path, query, source).
  const rule = matchRule(ctx.listener.rules, ctx, ctx);
  ctx.rulePriority = rule.priority;
  // The rule's transforms rewrite what the target gets, never which rule matched (AWS, "Transforms for listener rules").
  const transformed = rule.transforms ? (ctx.transformed = applyTransforms(rule.transforms, ctx.host, ctx.requestPath)) : undefined;
  if (transformed?.failed) return answerFailure(ctx, FAILURES.transformFailed);
  ctx.action = rule.action;
  ctx.jwt = rule.jwt;
  ctx.auth = rule.auth;
  const { protocol, port } = ctx.listener;
  // HTTP/1.0 without Host: ALB puts its own name there; this gateway's is its listener address.
  ctx.forwardHost = transformed?.host ?? forwardedHost(ctx.hostWithPort || `${ctx.site.hostName}:${port}`, protocol, port)!;
  // The id the target's logs will carry: kept for the log line, so the terminal's line for the request names it too.
  ctx.requestId = (ctx.headers['x-request-id'] as string | undefined) ?? traceRoot(ctx.trace);
  ctx.targetPath = transformed?.url ?? (target.form === 'asterisk' ? '*' : ctx.requestPath);
}

/** RFC 9110 §10.1.1: an expectation other than 100-continue cannot be met (417), once the request is routed. */
export function expectation(ctx: RequestContext): true | void {
  if (ctx.expectationFailed) return answerFailure(ctx, FAILURES.expectation);
}

/** The rule's action: a fixed response or a redirect is answered here; a forward goes on to a target. */
export function ownAnswer(ctx: RequestContext): true | void {
  // ALB's request_processing_time: from the request's arrival until the action starts.
  ctx.requestTime = (performance.now() - ctx.t0) / 1000;
  const action = ctx.action!;
  ctx.actionType = action.type;
  if (action.type === 'forward') return;
  if (action.type === 'fixed-response') return answerOwn(ctx, Number(action.statusCode), { 'content-type': action.contentType ?? 'text/plain' }, action.messageBody ?? '');
  const { protocol, port } = ctx.listener;
  const location = redirectUrl(
    { ...action, protocol: action.protocol === '#{protocol}' ? undefined : action.protocol?.toLowerCase() },
    { protocol, host: ctx.host, port, path: ctx.path, query: ctx.query },
  );
  ctx.redirectUrl = location;
  return answerOwn(ctx, action.statusCode === 'HTTP_301' ? 301 : 302, { location, 'content-type': 'text/html' }, '');
}
