/**
 * The gateway's configuration: listeners, rules and target groups, as a JSON file with a schema (or the default
 * below: the http → https → www redirect chain, then the shop). A bad file is refused at start with a message naming the field.
 * ALB's own limits (its quotas and listener-rules pages on docs.aws.amazon.com) are enforced: priorities 1–50000
 * and unique, fixed-response codes `^(2|4|5)\d\d$`, its five content types and 1024-character bodies, redirect
 * codes HTTP_301/HTTP_302.
 */
import fs from 'node:fs';
import { Type, type Static, type TOptional, type TString } from 'typebox';
import { Value } from 'typebox/value';
import { securityPolicy } from './tls-policy.ts';

const Str = Type.String({ minLength: 1 });

/**
 * The response headers an ALB listener can add (AWS, "HTTP header modification" → "Add response headers"), by field
 * name, each with its listener attribute's key: `routing.http.response.<key>.header_value`.
 */
export const RESPONSE_HEADERS = {
  'strict-transport-security': 'strict_transport_security',
  'access-control-allow-origin': 'access_control_allow_origin',
  'access-control-allow-methods': 'access_control_allow_methods',
  'access-control-allow-headers': 'access_control_allow_headers',
  'access-control-allow-credentials': 'access_control_allow_credentials',
  'access-control-expose-headers': 'access_control_expose_headers',
  'access-control-max-age': 'access_control_max_age',
  'content-security-policy': 'content_security_policy',
  'x-content-type-options': 'x_content_type_options',
  'x-frame-options': 'x_frame_options',
} as const;
const RESPONSE_HEADER_NAMES = Object.keys(RESPONSE_HEADERS) as Array<keyof typeof RESPONSE_HEADERS>;

const ConditionSchema = Type.Union([
  // `values` are ALB's wildcards; `regexValues` regular expressions (the 2025 RegexValues); a condition has one or both.
  Type.Object(
    { field: Type.Literal('host-header'), values: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1 })), regexValues: Type.Optional(Type.Array(Str, { minItems: 1 })) },
    { additionalProperties: false },
  ),
  Type.Object(
    { field: Type.Literal('path-pattern'), values: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1 })), regexValues: Type.Optional(Type.Array(Str, { minItems: 1 })) },
    { additionalProperties: false },
  ),
  Type.Object({ field: Type.Literal('http-request-method'), values: Type.Array(Type.String({ pattern: '^[A-Za-z_-]+$' }), { minItems: 1 }) }, { additionalProperties: false }),
  Type.Object(
    { field: Type.Literal('http-header'), httpHeaderName: Type.String({ pattern: '^[A-Za-z0-9-]+$' }), values: Type.Optional(Type.Array(Str, { minItems: 1 })), regexValues: Type.Optional(Type.Array(Str, { minItems: 1 })) },
    { additionalProperties: false },
  ),
  Type.Object(
    { field: Type.Literal('query-string'), values: Type.Array(Type.Object({ key: Type.Optional(Str), value: Str }, { additionalProperties: false }), { minItems: 1 }) },
    { additionalProperties: false },
  ),
  Type.Object({ field: Type.Literal('source-ip'), values: Type.Array(Type.String({ pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$' }), { minItems: 1 }) }, { additionalProperties: false }),
]);

const FINAL_ACTIONS = [
  Type.Object(
    {
      type: Type.Literal('forward'),
      targetGroups: Type.Array(Type.Object({ name: Str, weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })) }, { additionalProperties: false }), {
        minItems: 1,
        maxItems: 5,
      }),
      /** Target-group stickiness (`TargetGroupStickinessConfig`): a client keeps its group for this long (1 s–7 days). */
      stickinessDurationMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 604_800_000 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('redirect'),
      statusCode: Type.Union([Type.Literal('HTTP_301'), Type.Literal('HTTP_302')]),
      protocol: Type.Optional(Type.Union([Type.Literal('HTTP'), Type.Literal('HTTPS'), Type.Literal('#{protocol}')])),
      host: Type.Optional(Type.String({ maxLength: 128 })),
      port: Type.Optional(Type.String({ pattern: '^([0-9]{1,5}|#\\{port\\})$' })),
      path: Type.Optional(Type.String({ maxLength: 128, pattern: '^/' })),
      query: Type.Optional(Type.String({ maxLength: 128 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('fixed-response'),
      statusCode: Type.String({ pattern: '^(2|4|5)[0-9][0-9]$' }),
      contentType: Type.Optional(
        Type.Union([Type.Literal('text/plain'), Type.Literal('text/css'), Type.Literal('text/html'), Type.Literal('application/javascript'), Type.Literal('application/json')]),
      ),
      messageBody: Type.Optional(Type.String({ maxLength: 1024 })),
    },
    { additionalProperties: false },
  ),
] as const;

/**
 * ALB's `jwt-validation` action (AWS, "Verify JWTs using an Application Load Balancer"): it runs before the rule's
 * final action and lets the request on only with a bearer token signed by a key of `jwksEndpoint`, whose `iss` is
 * `issuer`, and whose additional claims carry the configured values (at most 10 claims, each at most 10 values).
 */
const ClaimSchema = Type.Object(
  {
    name: Str,
    /** How the claim's value is written in the token: one string, space-separated values, or an array of strings. */
    format: Type.Union([Type.Literal('single-string'), Type.Literal('space-separated-values'), Type.Literal('string-array')]),
    values: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 10 }),
  },
  { additionalProperties: false },
);
const JwtValidationSchema = Type.Object(
  {
    type: Type.Literal('jwt-validation'),
    issuer: Str,
    /** An http(s) URL (checked in checkActions, for a message that names it). */
    jwksEndpoint: Type.String({ minLength: 1, maxLength: 256 }),
    additionalClaims: Type.Optional(Type.Array(ClaimSchema, { maxItems: 10 })),
  },
  { additionalProperties: false },
);

/**
 * What ALB's two authenticate actions share (AuthenticateOidcActionConfig / AuthenticateCognitoActionConfig, AWS's
 * Elastic Load Balancing API reference): the session cookie's name and lifetime, the scope asked for, what an
 * unauthenticated request gets, and up to 10 extra query parameters for the authorization request. ALB's defaults
 * are filled in where the action is compiled (authenticate-oidc.ts).
 */
const authenticateCommon = {
  /** Default `AWSELBAuthSessionCookie`; the cookie is sent as `<name>-0`, `<name>-1`, … */
  sessionCookieName: Type.Optional(Str),
  /** Seconds, 1–604800 (7 days, the default). */
  sessionTimeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800 })),
  /** Space-separated OAuth scopes; default `openid`. */
  scope: Type.Optional(Str),
  onUnauthenticatedRequest: Type.Optional(Type.Union([Type.Literal('authenticate'), Type.Literal('allow'), Type.Literal('deny')])),
  authenticationRequestExtraParams: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String())),
};
/**
 * `authenticate-oidc`: the provider's endpoints and the client it knows the load balancer as. `clientSecret` may
 * come from the command line (`--oidc-client-secret CLIENT_ID=SECRET`); the gateway refuses to start without one.
 */
const AuthenticateOidcSchema = Type.Object(
  {
    type: Type.Literal('authenticate-oidc'),
    issuer: Str,
    authorizationEndpoint: Str,
    tokenEndpoint: Str,
    userInfoEndpoint: Str,
    clientId: Str,
    clientSecret: Type.Optional(Str),
    ...authenticateCommon,
  },
  { additionalProperties: false },
);
/**
 * `authenticate-cognito`: a user pool, its app client and its domain. A local run has no Cognito, so `issuer` names
 * the OIDC provider that stands in for the user pool (`--cognito-issuer USER_POOL_ARN=URL`): its endpoints are taken
 * at the user pool domain's paths (/oauth2/authorize, /oauth2/token, /oauth2/userInfo) under that URL.
 */
const AuthenticateCognitoSchema = Type.Object(
  {
    type: Type.Literal('authenticate-cognito'),
    userPoolArn: Str,
    userPoolClientId: Str,
    userPoolDomain: Str,
    /** The local stand-in for the user pool: an issuer URL (not part of ALB's configuration). */
    issuer: Type.Optional(Str),
    /** The app client's secret, which ALB reads from Cognito itself; given locally. */
    clientSecret: Type.Optional(Str),
    ...authenticateCommon,
  },
  { additionalProperties: false },
);

/**
 * A rule's actions in ALB's Order (pre-routing actions first): an optional authenticate action, an optional
 * jwt-validation, then the final action — the order is checked in validateGatewayConfig.
 */
const RuleActionsSchema = Type.Array(Type.Union([...FINAL_ACTIONS, JwtValidationSchema, AuthenticateOidcSchema, AuthenticateCognitoSchema]), { minItems: 1, maxItems: 3 });

/** A rule transform (AWS, "Transforms for listener rules"): the Host or the URL rewritten by a regex before forwarding. */
const TransformSchema = Type.Object(
  { type: Type.Union([Type.Literal('host-header-rewrite'), Type.Literal('url-rewrite')]), regex: Str, replace: Type.String() },
  { additionalProperties: false },
);

const RuleSchema = Type.Object(
  {
    priority: Type.Integer({ minimum: 1, maximum: 50000 }),
    conditions: Type.Array(ConditionSchema, { minItems: 1 }),
    actions: RuleActionsSchema,
    /** At most one of each type; never on the default rule (ALB has no transforms there). */
    transforms: Type.Optional(Type.Array(TransformSchema, { maxItems: 2 })),
  },
  { additionalProperties: false },
);

const ListenerSchema = Type.Object(
  {
    protocol: Type.Union([Type.Literal('HTTP'), Type.Literal('HTTPS')]),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    rules: Type.Optional(Type.Array(RuleSchema, { maxItems: 100 })),
    defaultActions: RuleActionsSchema,
    /** HTTPS only: ALB's `SslPolicy` (tls-policy.ts has AWS's table); Node's TLS defaults when absent. */
    sslPolicy: Type.Optional(Str),
    /**
     * HTTPS only: the certificate ARNs it serves, the default one first, the rest its certificate list (chosen by
     * SNI). Each ARN's certificate and key come from the command line; without them the self-signed one stands in.
     */
    certificates: Type.Optional(Type.Array(Type.Object({ arn: Str }, { additionalProperties: false }), { minItems: 1 })),
    /**
     * HTTPS only: ALB's mutual TLS (`MutualAuthentication`, mtls.ts). `verify` checks the client's certificate against
     * the trust store (an ARN whose CA bundle and revocation list come from the command line); `passthrough` asks
     * for one and forwards it unverified.
     */
    mutualAuthentication: Type.Optional(
      Type.Object(
        {
          mode: Type.Union([Type.Literal('off'), Type.Literal('verify'), Type.Literal('passthrough')]),
          trustStore: Type.Optional(Str),
          ignoreClientCertificateExpiry: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Response headers the listener adds (ALB's header modification, `routing.http.response.*.header_value`): only
     * the ten ALB offers, by their field names.
     */
    responseHeaders: Type.Optional(
      Type.Object(Object.fromEntries(RESPONSE_HEADER_NAMES.map((n) => [n, Type.Optional(Type.String({ minLength: 1, maxLength: 1000 }))])) as Record<keyof typeof RESPONSE_HEADERS, TOptional<TString>>, {
        additionalProperties: false,
      }),
    ),
    /** `routing.http.response.server.enabled`: false leaves `Server: awselb/2.0` off the gateway's own answers. */
    serverHeader: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const TargetGroupSchema = Type.Object(
  {
    name: Str,
    /** How the gateway speaks to the targets (ALB's target group `Protocol`): HTTP, or HTTPS. */
    protocol: Type.Optional(Type.Union([Type.Literal('HTTP'), Type.Literal('HTTPS')])),
    algorithm: Type.Optional(Type.Union([Type.Literal('round_robin'), Type.Literal('least_outstanding_requests'), Type.Literal('weighted_random')])),
    /** Sticky sessions (`stickiness.*` attributes): duration-based (`AWSALB`) or following the application's cookie. */
    stickiness: Type.Optional(
      Type.Object(
        {
          type: Type.Union([Type.Literal('lb_cookie'), Type.Literal('app_cookie')]),
          durationMs: Type.Integer({ minimum: 1000, maximum: 604_800_000 }),
          cookieName: Type.Optional(Str),
        },
        { additionalProperties: false },
      ),
    ),
    /** `slow_start.duration_seconds`: 30–900 s on AWS, 0 for off; round robin only. */
    slowStartMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 900_000 })),
    deregistrationDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    healthCheck: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String({ pattern: '^/' })),
          intervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 300_000 })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 120_000 })),
          healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
          unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
          matcher: Type.Optional(Type.String({ pattern: '^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$' })),
          /** `HealthCheckEnabled`: false leaves every target `unavailable`, and routed to. */
          enabled: Type.Optional(Type.Boolean()),
          /** `HealthCheckPort`: the traffic port (default) or another. */
          port: Type.Optional(Type.Union([Type.Literal('traffic-port'), Type.Integer({ minimum: 1, maximum: 65535 })])),
          /** `HealthCheckProtocol`: the group's protocol when absent. */
          protocol: Type.Optional(Type.Union([Type.Literal('HTTP'), Type.Literal('HTTPS')])),
        },
        { additionalProperties: false },
      ),
    ),
    /** Static targets; the launcher registers the shop's own processes at run time. */
    targets: Type.Optional(Type.Array(Type.Object({ id: Str, host: Str, port: Type.Integer({ minimum: 1, maximum: 65535 }) }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    listeners: Type.Array(ListenerSchema, { minItems: 1 }),
    targetGroups: Type.Array(TargetGroupSchema, { minItems: 1 }),
    idleTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** ALB's `client_keep_alive.seconds` (60–604800 s; 3600 when absent), in milliseconds. */
    clientKeepAliveMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** `routing.http2.enabled`: false offers only http/1.1 by ALPN on HTTPS listeners (ALB's default: true). */
    http2Enabled: Type.Optional(Type.Boolean()),
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** ALB's `routing.http.desync_mitigation_mode` load-balancer attribute; `defensive` when absent. */
    desyncMitigationMode: Type.Optional(Type.Union([Type.Literal('monitor'), Type.Literal('defensive'), Type.Literal('strictest')])),
    /** The load-balancer attributes that shape a target's request (headers.ts `HeaderAttributes`); ALB's defaults when absent. */
    xffHeaderProcessingMode: Type.Optional(Type.Union([Type.Literal('append'), Type.Literal('preserve'), Type.Literal('remove')])),
    xffClientPort: Type.Optional(Type.Boolean()),
    preserveHostHeader: Type.Optional(Type.Boolean()),
    dropInvalidHeaderFields: Type.Optional(Type.Boolean()),
    tlsVersionAndCipherSuiteHeaders: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type ListenerConfig = Static<typeof ListenerSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type Action = Static<(typeof FINAL_ACTIONS)[number]>;
export type JwtValidationAction = Static<typeof JwtValidationSchema>;
export type AuthenticateOidcAction = Static<typeof AuthenticateOidcSchema>;
export type AuthenticateCognitoAction = Static<typeof AuthenticateCognitoSchema>;
export type AuthenticateAction = AuthenticateOidcAction | AuthenticateCognitoAction;
export type RuleActions = Static<typeof RuleActionsSchema>;
export type TargetGroupSpec = Static<typeof TargetGroupSchema>;

/** A rule's final action (forward, redirect, fixed-response): the last, after any pre-routing action (checked at load). */
export const finalAction = (actions: RuleActions): Action => actions[actions.length - 1] as Action;
/** A rule's jwt-validation, when it has one. */
export const jwtValidationOf = (actions: RuleActions): JwtValidationAction | undefined => actions.find((a): a is JwtValidationAction => a.type === 'jwt-validation');
/** A rule's authenticate-oidc or authenticate-cognito, when it has one. */
export const authenticateOf = (actions: RuleActions): AuthenticateAction | undefined => actions.find((a): a is AuthenticateAction => isAuthenticate(a.type));

export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError';
}

/**
 * A regular expression ALB would take: one that compiles, without the features AWS lists as unsupported for rule
 * regexes — lookaheads, lookbehinds, backreferences (and named ones), atomic groups, possessive quantifiers,
 * recursion, Unicode classes (AWS, "Transforms for listener rules").
 */
function checkRegex(source: string, where: string): void {
  const unsupported = /\(\?<?[=!]|\\[1-9]|\\k<|\(\?>|[*+?}]\+|\(\?R\)|\\[pP]\{/.exec(source);
  if (unsupported) throw new GatewayConfigError(`${where}: ${unsupported[0]} is a regex feature ALB does not support`);
  try {
    new RegExp(source);
  } catch (e) {
    throw new GatewayConfigError(`${where}: ${(e as Error).message}`);
  }
}

/** ALB's two sign-in actions, by their type (in a configuration, a template, a plan). */
export const isAuthenticate = (type: string) => type === 'authenticate-oidc' || type === 'authenticate-cognito';
/** A provider's URL: AWS asks for HTTPS; plain HTTP is also taken locally, for a provider on loopback. */
export const HTTP_URL = /^https?:\/\/[^/]/;

/**
 * A rule's actions in ALB's order — an optional authenticate action, an optional jwt-validation, then one final
 * action — with their values as AWS allows them. Authenticate actions only on HTTPS listeners: ALB refuses them on
 * HTTP (the session cookie is Secure and the callback is https://…/oauth2/idpresponse), and so does the gateway.
 */
function checkActions(actions: RuleActions, where: string, protocol: 'HTTP' | 'HTTPS'): void {
  const order = actions.map((a) => (isAuthenticate(a.type) ? 0 : a.type === 'jwt-validation' ? 1 : 2));
  if (order[order.length - 1] !== 2 || order.slice(0, -1).some((o) => o === 2) || order.some((o, i) => i > 0 && o <= order[i - 1]!)) {
    throw new GatewayConfigError(`${where}: an authenticate action, a jwt-validation, then one forward, redirect or fixed-response (the first two optional, at most one each)`);
  }
  const auth = authenticateOf(actions);
  if (auth) {
    if (protocol !== 'HTTPS') throw new GatewayConfigError(`${where}[0]: ${auth.type} needs an HTTPS listener (ALB refuses authenticate actions on HTTP)`);
    if (auth.type === 'authenticate-oidc') {
      for (const k of ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'userInfoEndpoint'] as const) {
        if (!HTTP_URL.test(auth[k])) throw new GatewayConfigError(`${where}[0].${k}: ${auth[k]} is no http(s) URL`);
      }
    } else if (auth.issuer !== undefined && !HTTP_URL.test(auth.issuer)) throw new GatewayConfigError(`${where}[0].issuer: ${auth.issuer} is no http(s) URL`);
    // AWS (AuthenticateOidcActionConfig): at most 10 extra parameters.
    if (Object.keys(auth.authenticationRequestExtraParams ?? {}).length > 10) throw new GatewayConfigError(`${where}[0].authenticationRequestExtraParams: at most 10`);
  }
  const jwt = jwtValidationOf(actions);
  const j = actions.findIndex((a) => a.type === 'jwt-validation');
  if (jwt && !HTTP_URL.test(jwt.jwksEndpoint)) throw new GatewayConfigError(`${where}[${j}].jwksEndpoint: ${jwt.jwksEndpoint} is no http(s) URL`);
  (jwt?.additionalClaims ?? []).forEach((c, k) => {
    const at = `${where}[${j}].additionalClaims[${k}]`;
    // AWS (JwtValidationActionAdditionalClaim): these four are always checked, so never configured.
    if (['exp', 'iss', 'nbf', 'iat'].includes(c.name)) throw new GatewayConfigError(`${at}.name: ${c.name} is validated by default`);
    if (c.format === 'space-separated-values' && c.values.some((v) => /\s/.test(v))) throw new GatewayConfigError(`${at}.values: space-separated values cannot contain spaces`);
  });
}

const at = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '') || '(root)';

/** Validates a parsed configuration; throws naming the first offending field. */
export function validateGatewayConfig(value: unknown, source = 'gateway configuration'): GatewayConfig {
  if (!Value.Check(GatewayConfigSchema, value)) {
    // A union reports every branch; the deepest error points at the field that is really wrong.
    const errors = [...Value.Errors(GatewayConfigSchema, value)].filter((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf');
    // At equal depth, a branch's `type` that did not match says less than the matching branch's own complaint.
    const worst = errors.sort((a, b) => b.instancePath.length - a.instancePath.length || Number(a.keyword === 'const') - Number(b.keyword === 'const'))[0];
    const extra = worst?.keyword === 'additionalProperties' ? ` (${(worst.params as { additionalProperties: string[] }).additionalProperties.join(', ')})` : '';
    throw new GatewayConfigError(`${source}: ${worst ? `${at(worst.instancePath)}: ${worst.message}${extra}` : 'invalid'}`);
  }
  const config = value as GatewayConfig;
  const groups = new Set(config.targetGroups.map((g) => g.name));
  if (groups.size !== config.targetGroups.length) throw new GatewayConfigError(`${source}: targetGroups: names must be unique`);
  config.listeners.forEach((l, i) => {
    if (l.protocol === 'HTTP' && (l.sslPolicy !== undefined || l.certificates !== undefined)) {
      throw new GatewayConfigError(`${source}: listeners[${i}]: an HTTP listener has no sslPolicy or certificates`);
    }
    if (l.protocol === 'HTTP' && l.mutualAuthentication !== undefined && l.mutualAuthentication.mode !== 'off') {
      throw new GatewayConfigError(`${source}: listeners[${i}].mutualAuthentication: mutual TLS needs an HTTPS listener`);
    }
    if (l.mutualAuthentication?.mode === 'verify' && !l.mutualAuthentication.trustStore) {
      throw new GatewayConfigError(`${source}: listeners[${i}].mutualAuthentication: verify mode needs a trustStore`);
    }
    if (l.sslPolicy !== undefined && !securityPolicy(l.sslPolicy)) {
      throw new GatewayConfigError(`${source}: listeners[${i}].sslPolicy: ${l.sslPolicy} is not one of ALB's security policies (docs/alb.md, "TLS")`);
    }
    checkActions(l.defaultActions, `${source}: listeners[${i}].defaultActions`, l.protocol);
    const seen = new Set<number>();
    (l.rules ?? []).forEach((r, j) => {
      if (seen.has(r.priority)) throw new GatewayConfigError(`${source}: listeners[${i}].rules[${j}].priority: ${r.priority} is in use (PriorityInUse)`);
      seen.add(r.priority);
      r.conditions.forEach((c, k) => {
        const where = `${source}: listeners[${i}].rules[${j}].conditions[${k}]`;
        if ((c.field === 'host-header' || c.field === 'path-pattern' || c.field === 'http-header') && !c.values && !c.regexValues) throw new GatewayConfigError(`${where}: needs values or regexValues`);
        for (const [m, rx] of ('regexValues' in c ? (c.regexValues ?? []) : []).entries()) checkRegex(rx, `${where}.regexValues[${m}]`);
      });
      checkActions(r.actions, `${source}: listeners[${i}].rules[${j}].actions`, l.protocol);
      (r.transforms ?? []).forEach((t, k) => {
        const where = `${source}: listeners[${i}].rules[${j}].transforms[${k}]`;
        if ((r.transforms ?? []).filter((x) => x.type === t.type).length > 1) throw new GatewayConfigError(`${where}: one ${t.type} per rule`);
        checkRegex(t.regex, `${where}.regex`);
      });
    });
    const actions: Array<[string, Action]> = [
      [`listeners[${i}].defaultActions[${l.defaultActions.length - 1}]`, finalAction(l.defaultActions)] as [string, Action],
      ...(l.rules ?? []).map((r, j) => [`listeners[${i}].rules[${j}].actions[${r.actions.length - 1}]`, finalAction(r.actions)] as [string, Action]),
    ];
    for (const [where, a] of actions) {
      if (a.type === 'forward') {
        a.targetGroups.forEach((g, k) => {
          if (!groups.has(g.name)) throw new GatewayConfigError(`${source}: ${where}.targetGroups[${k}].name: no target group "${g.name}"`);
        });
        if (a.targetGroups.length > 1 && a.targetGroups.some((g) => g.weight === undefined)) {
          throw new GatewayConfigError(`${source}: ${where}.targetGroups: every group needs a weight when there are several`);
        }
      }
      if (a.type === 'redirect' && l.protocol === 'HTTPS' && a.protocol === 'HTTP') {
        throw new GatewayConfigError(`${source}: ${where}.protocol: ALB does not redirect HTTPS to HTTP`);
      }
    }
  });
  return config;
}

export function loadGatewayConfigFile(file: string): GatewayConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GatewayConfigError(`${file}: ${(e as Error).message}`);
  }
  return validateGatewayConfig(parsed, file);
}

/**
 * The contract's gateway: the redirect chain for shop.localhost (http → https, then naked → www; docs/status-codes.md,
 * "The redirect chain"), and everything else forwarded to the shop. Health checks use ALB's shortest interval (5 s)
 * so a killed target is noticed in seconds on a laptop; every other value is ALB's default or within its range.
 *
 * With `signIn` (what `receipt start` passes: system/sign-in.ts), the admin console is behind the load balancer's
 * sign-in, as ALB would put it: `/console` sends a browser without a session to the provider (`authenticate`);
 * `/console/*`, what a page's scripts call, answers 401 instead of a redirect a script cannot follow (`deny`); and the
 * HTTP listener sends a GET or HEAD of either to HTTPS, since ALB signs users in on HTTPS listeners only.
 */
export function defaultGatewayConfig(ports: { http: number; https: number }, idleTimeoutMs: number, signIn?: Omit<AuthenticateOidcAction, 'onUnauthenticatedRequest'>): GatewayConfig {
  const forward: Action = { type: 'forward', targetGroups: [{ name: 'shop' }] };
  const consolePaths = (paths: string[]) => [{ field: 'path-pattern' as const, values: paths }];
  return {
    idleTimeoutMs,
    connectTimeoutMs: 10_000,
    listeners: [
      {
        protocol: 'HTTP',
        port: ports.http,
        rules: [
          {
            priority: 10,
            conditions: [{ field: 'host-header', values: ['shop.localhost'] }],
            actions: [{ type: 'redirect', statusCode: 'HTTP_301', protocol: 'HTTPS', port: String(ports.https) }],
          },
          ...(signIn
            ? [
                {
                  priority: 5,
                  // GET and HEAD only: ALB's redirects are 301 and 302, which clients may repeat as GET (RFC 9110
                  // §15.4.3); another method goes on to the shop, which answers it without a signed-in user.
                  conditions: [...consolePaths(['/console', '/console/*']), { field: 'http-request-method' as const, values: ['GET', 'HEAD'] }],
                  actions: [{ type: 'redirect' as const, statusCode: 'HTTP_302' as const, protocol: 'HTTPS' as const, port: String(ports.https) }],
                },
              ]
            : []),
        ],
        defaultActions: [forward],
      },
      {
        protocol: 'HTTPS',
        port: ports.https,
        rules: [
          {
            priority: 10,
            conditions: [{ field: 'host-header', values: ['shop.localhost'] }],
            actions: [{ type: 'redirect', statusCode: 'HTTP_301', host: 'www.shop.localhost' }],
          },
          ...(signIn
            ? [
                { priority: 4, conditions: consolePaths(['/console/*']), actions: [{ ...signIn, onUnauthenticatedRequest: 'deny' as const }, forward] },
                { priority: 5, conditions: consolePaths(['/console']), actions: [{ ...signIn, onUnauthenticatedRequest: 'authenticate' as const }, forward] },
              ]
            : []),
        ],
        defaultActions: [forward],
      },
    ],
    targetGroups: [
      {
        name: 'shop',
        algorithm: 'round_robin',
        deregistrationDelayMs: 30_000,
        healthCheck: { path: '/healthz', intervalMs: 5_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' },
      },
    ],
  };
}
