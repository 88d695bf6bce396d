/**
 * A forward's target group and target, sticky sessions honoured (cluster/stickiness.ts): the group an AWSALBTG
 * cookie names if it is still one of the action's, the target an AWSALB / AWSALBAPP-0 cookie names while it can take
 * requests — else the group's balancer (cluster/balancer.ts) — and the cookies the answer then carries. A session's
 * WebSocket upgrade goes where its cookie says too (Socket.IO polls, then upgrades on the same target).
 */
import type { Action } from '../config.ts';
import { FAILURES } from '../failures.ts';
import { answerFailure } from '../respond/answer.ts';
import { appCookies, APP_COOKIE, cookieValue, LB_COOKIE, LB_COOKIE_CORS, pairCookies, setsCookie, TG_COOKIE, TG_COOKIE_CORS } from '../cluster/stickiness.ts';
import type { TargetGroup } from '../cluster/target-group.ts';
import type { RequestContext, Site } from './context.ts';

/** Weighted choice among a forward action's target groups (weights 0–999; 10 and 20 split 1:2). */
function pickGroup(site: Site, groups: Array<{ name: string; weight?: number }>): TargetGroup {
  if (groups.length === 1) return site.group(groups[0]!.name);
  // At most five groups (ALB's limit): summing them costs less than looking a cached sum up.
  let r = Math.random() * groups.reduce((n, g) => n + (g.weight ?? 1), 0);
  for (const g of groups) {
    r -= g.weight ?? 1;
    if (r < 0) return site.group(g.name);
  }
  return site.group(groups[groups.length - 1]!.name);
}

export function pickTarget(ctx: RequestContext): true | void {
  const action = ctx.action as Extract<Action, { type: 'forward' }>;
  const site = ctx.site;
  const cookieHeader = ctx.headers.cookie;
  const tgDuration = action.stickinessDurationMs;
  const namedGroup = tgDuration !== undefined ? site.sticky.open(cookieValue(cookieHeader, TG_COOKIE)) : undefined;
  const group = namedGroup !== undefined && action.targetGroups.some((g) => g.name === namedGroup) ? site.group(namedGroup) : pickGroup(site, action.targetGroups);
  ctx.targetGroup = `targetgroup/${group.name}`;
  const stick = group.config.stickiness;
  const sealed = stick ? site.sticky.open(cookieValue(cookieHeader, stick.type === 'lb_cookie' ? LB_COOKIE : APP_COOKIE)) : undefined;
  // The cookie names group and target, so a cookie of another group never picks a target here.
  const prefix = `${group.name}\n`;
  const target = group.choose(sealed?.startsWith(prefix) ? sealed.slice(prefix.length) : undefined);
  if (!target) return answerFailure(ctx, FAILURES.noRegisteredTargets);
  ctx.chosen = target;
  ctx.targetAddress = target.address;
  if (tgDuration === undefined && !stick) return;
  // Only a sticky group's answers carry cookies: only they pay for this function.
  ctx.responseFields = (raw: string[]): string[] => {
    const cookies: string[] = [];
    if (tgDuration !== undefined) cookies.push(...pairCookies(TG_COOKIE, TG_COOKIE_CORS, site.sticky.seal(group.name), tgDuration));
    const value = site.sticky.seal(prefix + target.id);
    if (stick?.type === 'lb_cookie') cookies.push(...pairCookies(LB_COOKIE, LB_COOKIE_CORS, value, stick.durationMs));
    else if (stick?.type === 'app_cookie' && stick.cookieName && setsCookie(raw, stick.cookieName)) cookies.push(...appCookies(value, stick.durationMs));
    return cookies.flatMap((c) => ['set-cookie', c]);
  };
}
