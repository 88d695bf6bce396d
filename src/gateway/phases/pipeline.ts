/**
 * A request's path through the gateway, as an ordered list: each phase adds what it learns to the request's context
 * (context.ts) and either passes it on or answers it; the first phase that answers ends the request. HTTP/1.x
 * requests, HTTP/2 streams and WebSocket upgrades all take this path — an upgrade's forward opens a tunnel.
 *
 *   measure         what came: method, target, Host, sizes, trace id — once, for the checks, the rules and the log
 *   checks          ALB's checks before any rule, in its order (checks.ts): 400/405/413/463/501, desync class
 *   route           the first listener rule that matches (rules.ts): its action, the Host and id the target gets
 *   expectation     417 for an Expect other than 100-continue (RFC 9110 §10.1.1)
 *   authenticate    a rule's pre-routing actions: sign-in (authenticate-oidc.ts) — the session's identity for the
 *                   target, or a redirect to the provider, 401 or on anonymous; the provider's callback answered —
 *                   then jwt-validation (jwt-validation.ts): 401 with a Bearer challenge unless its token verifies
 *   own-answer      fixed-response and redirect answered by the gateway; a forward goes on
 *   pick-target     target group and target, sticky sessions honoured (cluster/); 503 when none can take it
 *   rewrite-fields  the fields the target gets (headers.ts): hop-by-hop out, X-Forwarded-*, trace id, Host
 *   frame           the body's framing for the target (RFC 9112 §6.3), or the upgrade it is asked for
 *   forward         the exchange with the target (proxy.ts), or the tunnel (tunnel.ts); its failure → failures.ts
 *
 * Run as the shop's decision pipeline runs its steps (src/shop/decision/pipeline.ts): a phase answers synchronously
 * unless it has to wait — only `forward` does, and `authenticate` for a rule that signs in or checks a token — so a
 * request the gateway answers itself never waits a turn.
 */
import { FAILURES } from '../failures.ts';
import { authenticate } from './authenticate.ts';
import { answerFailure } from '../respond/answer.ts';
import type { RequestContext } from './context.ts';
import { forward, frame, rewriteFields } from './forward.ts';
import { checks, measure } from './measure.ts';
import { pickTarget } from './pick-target.ts';
import { expectation, ownAnswer, route } from './route.ts';

/** A phase: `true` when it answered the request (nothing after it runs); a promise when it has to wait. */
export type Phase = (ctx: RequestContext) => true | void | Promise<true | void>;

export const PHASES: ReadonlyArray<readonly [name: string, phase: Phase]> = [
  ['measure', measure],
  ['checks', checks],
  ['route', route],
  ['expectation', expectation],
  ['authenticate', authenticate],
  ['own-answer', ownAnswer],
  ['pick-target', pickTarget],
  ['rewrite-fields', rewriteFields],
  ['frame', frame],
  ['forward', forward],
];

/** Runs the phases over one request, then writes its access-log line (once, however it ended). */
export async function runPhases(ctx: RequestContext): Promise<void> {
  try {
    for (let i = 0; i < PHASES.length; i++) {
      const result = PHASES[i]![1](ctx);
      if (result instanceof Promise ? await result : result) return;
    }
  } catch {
    // An error inside the gateway itself: ALB logs priority -1; the gateway, not a target, answers for it.
    ctx.rulePriority ??= -1;
    answerFailure(ctx, FAILURES.internalError);
  } finally {
    ctx.site.log(ctx.toRecord());
  }
}
