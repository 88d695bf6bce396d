/**
 * Listener rules as ALB evaluates them (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html): by ascending priority, the default rule last; a rule matches
 * when all its conditions hold, a condition when any of its values does. Patterns are compiled once, at load.
 */
import { BlockList, isIPv6 } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { AuthFlow, type AuthKeys } from './authenticate-oidc.ts';
import { authenticateOf, finalAction, jwtValidationOf, type Action, type Condition, type ListenerConfig, type RuleActions } from './config.ts';
import { compileJwtValidation, type JwtCheck } from './jwt-validation.ts';

/** What a rule reads of a request: the same for HTTP/1.1 and HTTP/2. */
export interface RuleRequest {
  method?: string | undefined;
  headers: IncomingHttpHeaders;
}

type Test = (req: RuleRequest, ctx: MatchContext) => boolean;

export interface MatchContext {
  host: string;
  path: string;
  /** The raw query string (without "?"); parsed only by a query-string condition. */
  query: string;
  sourceIp: string;
}

export interface CompiledRule {
  /** 1–50000; 0 for the default rule (as the access log writes it). */
  priority: number;
  test: Test;
  /** The rule's final action (forward, redirect, fixed-response). */
  action: Action;
  /** Its jwt-validation, run before the final action (jwt-validation.ts). */
  jwt?: JwtCheck;
  /** Its authenticate-oidc / authenticate-cognito, run first (authenticate-oidc.ts). */
  auth?: AuthFlow;
  /** The rule's transforms, compiled (none on the default rule). */
  transforms?: CompiledTransforms;
}

export interface CompiledTransforms {
  host?: { regex: RegExp; replace: string };
  url?: { regex: RegExp; replace: string };
}

/** What a rule's transforms made of a request: the Host and the URL (path and query) the target gets. */
export interface Transformed {
  /** The rewritten Host, when the host-header-rewrite's regex matched. */
  host?: string;
  /** The rewritten URL, when the url-rewrite's regex matched. */
  url?: string;
  /** A regex matched but its result is no Host or no origin-form URL: ALB answers 500. */
  failed?: boolean;
}

/**
 * Applies a rule's transforms (AWS, "Transforms for listener rules"): each regex is matched against the Host
 * (host-header-rewrite) or the URL, path and query (url-rewrite); on a match the first match is replaced, `$1`… naming
 * the captures; with no match the request goes on unchanged. Rewriting never changes which rule matched.
 */
export function applyTransforms(t: CompiledTransforms | undefined, host: string, url: string): Transformed {
  const out: Transformed = {};
  if (!t) return out;
  if (t.host && t.host.regex.test(host)) out.host = host.replace(t.host.regex, t.host.replace);
  if (t.url && t.url.regex.test(url)) out.url = url.replace(t.url.regex, t.url.replace);
  // "If there is a pattern match but the transform fails, we return an HTTP 500 error": a Host that is no
  // host[:port], or a URL that is no origin-form target (RFC 9112 §3.2.1), cannot be sent.
  if ((out.host !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(out.host)) || (out.url !== undefined && !/^\/[^\s]*$/.test(out.url))) out.failed = true;
  return out;
}

/** ALB's wildcards: `*` any run of characters, `?` exactly one (rule condition types). */
export function wildcard(pattern: string, caseInsensitive: boolean): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
}

/** A condition's patterns: its wildcards, then its regular expressions (`regexValues`); any one matching is a match. */
function patterns(values: string[] | undefined, regexValues: string[] | undefined, caseInsensitive: boolean): RegExp[] {
  return [...(values ?? []).map((v) => wildcard(v, caseInsensitive)), ...(regexValues ?? []).map((r) => new RegExp(r, caseInsensitive ? 'i' : ''))];
}

function compileCondition(c: Condition): Test {
  switch (c.field) {
    case 'host-header': {
      // Not case-sensitive; matched against the host without its port.
      const res = patterns(c.values, c.regexValues, true);
      return (_req, ctx) => res.some((r) => r.test(ctx.host));
    }
    case 'path-pattern': {
      // Case-sensitive; the path only, never the query.
      const res = patterns(c.values, c.regexValues, false);
      return (_req, ctx) => res.some((r) => r.test(ctx.path));
    }
    case 'http-request-method': {
      const set = new Set(c.values);
      return (req) => set.has(req.method ?? '');
    }
    case 'http-header': {
      const name = c.httpHeaderName.toLowerCase();
      const res = patterns(c.values, c.regexValues, true);
      return (req) => {
        const v = req.headers[name];
        const values = v === undefined ? [] : Array.isArray(v) ? v : [v];
        return values.some((x) => res.some((r) => r.test(x)));
      };
    }
    case 'query-string': {
      const pairs = c.values.map((p) => ({ key: p.key === undefined ? undefined : wildcard(p.key, true), value: wildcard(p.value, true) }));
      return (_req, ctx) => {
        const query = [...new URLSearchParams(ctx.query)];
        return pairs.some((p) => query.some(([k, v]) => (p.key === undefined || p.key.test(k)) && p.value.test(v)));
      };
    }
    case 'source-ip': {
      // The socket's peer, never X-Forwarded-For (AWS: source-ip is the client's address as the load balancer sees it).
      const list = new BlockList();
      for (const cidr of c.values) {
        const [addr, bits] = cidr.split('/');
        list.addSubnet(addr!, Number(bits), isIPv6(addr!) ? 'ipv6' : 'ipv4');
      }
      // sourceIp is the client's address as ALB logs it, an IPv4 client on a dual-stack socket without `::ffff:`.
      return (_req, ctx) => list.check(ctx.sourceIp, isIPv6(ctx.sourceIp) ? 'ipv6' : 'ipv4');
    }
  }
}

/**
 * A listener's rules, compiled. `keys`: the gateway's sign-in keys, needed only when a rule authenticates (its flow
 * is named by the rule's priority in the sign-in's `state`).
 */
export function compileRules(listener: ListenerConfig, keys?: () => AuthKeys): CompiledRule[] {
  const before = (actions: RuleActions, priority: number) => {
    const jwt = jwtValidationOf(actions);
    const auth = authenticateOf(actions);
    return {
      ...(jwt ? { jwt: compileJwtValidation(jwt) } : {}),
      ...(auth && keys ? { auth: new AuthFlow(auth, String(priority), keys(), `listener ${listener.port} rule ${priority || 'default'}`) } : {}),
    };
  };
  const rules: CompiledRule[] = [...(listener.rules ?? [])].sort((a, b) => a.priority - b.priority).map((r) => {
    const tests = r.conditions.map(compileCondition);
    const transforms: CompiledTransforms = {};
    for (const t of r.transforms ?? []) transforms[t.type === 'host-header-rewrite' ? 'host' : 'url'] = { regex: new RegExp(t.regex), replace: t.replace };
    return {
      priority: r.priority,
      action: finalAction(r.actions),
      ...before(r.actions, r.priority),
      test: (req: RuleRequest, ctx: MatchContext) => tests.every((t) => t(req, ctx)),
      ...(r.transforms?.length ? { transforms } : {}),
    };
  });
  rules.push({ priority: 0, action: finalAction(listener.defaultActions), test: () => true, ...before(listener.defaultActions, 0) });
  return rules;
}

export function matchRule(rules: CompiledRule[], req: RuleRequest, ctx: MatchContext): CompiledRule {
  for (const r of rules) if (r.test(req, ctx)) return r;
  return rules[rules.length - 1]!;
}

/**
 * The redirect action's URL (rule action types): each component keeps the original unless set; placeholders `#{protocol}`,
 * `#{host}`, `#{port}`, `#{path}` (without its leading "/") and `#{query}`.
 */
export function redirectUrl(
  r: { protocol?: string; host?: string; port?: string; path?: string; query?: string },
  orig: { protocol: 'http' | 'https'; host: string; port: number; path: string; query: string },
): string {
  const fill = (s: string) =>
    s
      .replace(/#\{protocol\}/g, orig.protocol)
      .replace(/#\{host\}/g, orig.host)
      .replace(/#\{port\}/g, String(orig.port))
      .replace(/#\{path\}/g, orig.path.replace(/^\//, ''))
      .replace(/#\{query\}/g, orig.query);
  const protocol = fill(r.protocol ?? '#{protocol}').toLowerCase();
  const host = fill(r.host ?? '#{host}');
  const port = fill(r.port ?? '#{port}');
  let path = fill(r.path ?? '/#{path}');
  if (!path.startsWith('/')) path = '/' + path;
  const query = fill(r.query ?? '#{query}');
  const defaultPort = (protocol === 'https' && port === '443') || (protocol === 'http' && port === '80');
  return `${protocol}://${host}${defaultPort ? '' : `:${port}`}${path}${query ? `?${query}` : ''}`;
}
