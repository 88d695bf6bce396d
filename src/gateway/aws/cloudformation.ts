/**
 * A CloudFormation template's Application Load Balancer as the gateway's configuration: `::LoadBalancer`,
 * `::Listener`, `::ListenerRule` and `::TargetGroup` (AWS's CloudFormation reference). A Terraform plan arrives here
 * too, read into the same shape first (terraform.ts), so both are mapped by this one reader.
 *
 * Every property and attribute met is judged against catalogue.ts: what the gateway cannot be is listed in
 * `unsupported` with its place, what only places the load balancer in an AWS account is listed in `awsOnly`, and a
 * name the catalogue does not know is listed too — nothing is dropped silently. A value that cannot be resolved
 * locally (a parameter with no value, an import from a template not given) skips the rule or listener that needs it
 * and names itself with what to pass; it never stops the gateway.
 */
import { GatewayConfigError, isAuthenticate, RESPONSE_HEADERS, validateGatewayConfig, type Action, type AuthenticateAction, type Condition, type GatewayConfig, type JwtValidationAction, type RuleActions, type TargetGroupSpec } from '../config.ts';
import { judge, LB, LB_ATTRIBUTES, LISTENER, LISTENER_ATTRIBUTES, LISTENER_CERTIFICATE, OTHER_TYPES, PROPERTIES, RULE, TG, TG_ATTRIBUTES, TRUST_STORE, TRUST_STORE_REVOCATION, type Handling } from './catalogue.ts';
import { DEFAULT_SSL_POLICY, securityPolicy } from '../tls-policy.ts';
import type { ActionProps, AuthenticateCommonProps, ConditionProps, KeyValue, ListenerCertificateProps, ListenerProps, ListenerRuleProps, LoadBalancerProps, Template, TargetGroupProps } from './shapes.ts';
import { describeUnresolved, hasHole, Resolver } from './template.ts';

export interface ImportOptions {
  /** Targets for each target group, by logical id / resource address / group name: `['127.0.0.1:3000']`. */
  map: Record<string, string[]>;
  /** Local port for a listener port of the template (80 → 8080 when absent: ports under 1024 get +8000). */
  listenPorts?: Record<number, number>;
  /** Template parameter values (else each parameter's Default). */
  parameters?: Record<string, string>;
}

export interface Imported {
  config: GatewayConfig;
  /** Parts the gateway cannot emulate, each with where it is. */
  unsupported: string[];
  /** Settings that only place or name the load balancer in an AWS account: no local effect. */
  awsOnly: string[];
  /** What was changed to run locally (listener ports). */
  notes: string[];
  /** Template listener port → local port. */
  ports: Record<number, number>;
}

const attrs = (list: KeyValue[] | undefined): Record<string, string> =>
  Object.fromEntries((Array.isArray(list) ? list : []).filter((a) => a && typeof a.Key === 'string').map((a) => [a.Key!, String(a.Value)]));

/** The resources of one type, their properties resolved; resources whose Condition is false are left out. */
function resourcesOf(template: Template, r: Resolver, type: string, notes: string[]): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  for (const [id, res] of Object.entries(template.Resources ?? {})) {
    if (res?.Type !== type) continue;
    if (res.Condition !== undefined) {
      const on = r.condition(String(res.Condition), `${id}.Condition`);
      if (on === false) {
        notes.push(`${id}: not created (its condition ${res.Condition} is false)`);
        continue;
      }
      if (on === undefined) continue; // named by the resolver
    }
    const props = r.value(res.Properties ?? {}, `${id}.Properties`);
    out.push([id, props && typeof props === 'object' ? props : {}]);
  }
  return out;
}

export function fromCloudFormation(template: Template, o: ImportOptions, source = 'template'): Imported {
  const resources = template?.Resources ?? {};
  if (typeof resources !== 'object' || Object.keys(resources).length === 0) throw new GatewayConfigError(`${source}: no Resources`);
  const r = new Resolver(template, o.parameters ? { parameters: o.parameters } : {});
  r.adopt(template.Metadata?.['Receipt::Unresolved'] ?? []);
  const unsupported: string[] = [...(template.Metadata?.['Receipt::Unmapped'] ?? [])];
  const awsOnly: string[] = [];
  const notes: string[] = [...(template.Metadata?.['Receipt::Notes'] ?? [])];
  const of = (type: string) => resourcesOf(template, r, type, notes);

  /** Judges one setting at its value: a `not emulated` line, an AWS-only name, or nothing. */
  const check = (where: string, h: Handling | undefined, value: unknown) => {
    const j = judge(h, value);
    if (j.kind === 'not') unsupported.push(`${where}${value === undefined || typeof value === 'object' ? '' : ` = ${String(value)}`}: ${j.why}`);
    else if (j.kind === 'aws') awsOnly.push(where);
  };
  const checkProperties = (id: string, type: string, props: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined) continue;
      const h = PROPERTIES[type]![k];
      // A structured property the gateway reads is judged part by part where it is read (actions, matchers,
      // attribute lists, MutualAuthentication.Mode); any other is named whatever its shape.
      if (typeof v === 'object' && h && (h.kind === 'emulated' || h.kind === 'at')) continue;
      check(`${id}.${k}`, h, typeof v === 'object' ? undefined : v);
    }
  };
  const checkAttributes = (id: string, prop: string, list: KeyValue[] | undefined, table: Record<string, Handling>, skip: (key: string) => boolean = () => false) => {
    for (const [k, v] of Object.entries(attrs(list))) if (!skip(k)) check(`${id}.${prop} ${k}`, table[k], v);
  };

  // The load balancer: its attributes become the gateway's (ALB's idle timeout and desync mode).
  const lbs = of(LB) as Array<[string, LoadBalancerProps]>;
  if (lbs.length > 1) unsupported.push(`${lbs.map(([id]) => id).join(', ')}: one load balancer per gateway — the first is used`);
  const [lbId, lb] = lbs[0] ?? [undefined, {} as LoadBalancerProps];
  if (lbId) {
    checkProperties(lbId, LB, lb);
    checkAttributes(lbId, 'LoadBalancerAttributes', lb.LoadBalancerAttributes, LB_ATTRIBUTES);
  }
  const lbAttrs = attrs(lb.LoadBalancerAttributes);
  const idle = lbAttrs['idle_timeout.timeout_seconds'];
  const desync = lbAttrs['routing.http.desync_mitigation_mode'];
  // The attributes that shape a target's request, written only where they differ from ALB's defaults.
  const on = (key: string) => lbAttrs[key] === 'true';
  const xffMode = lbAttrs['routing.http.xff_header_processing.mode'];
  const headerAttributes: Partial<GatewayConfig> = {
    ...(xffMode === 'preserve' || xffMode === 'remove' ? { xffHeaderProcessingMode: xffMode } : {}),
    ...(on('routing.http.xff_client_port.enabled') ? { xffClientPort: true } : {}),
    ...(on('routing.http.preserve_host_header.enabled') ? { preserveHostHeader: true } : {}),
    ...(on('routing.http.drop_invalid_header_fields.enabled') ? { dropInvalidHeaderFields: true } : {}),
    ...(on('routing.http.x_amzn_tls_version_and_cipher_suite.enabled') ? { tlsVersionAndCipherSuiteHeaders: true } : {}),
  };
  const keepAlive = lbAttrs['client_keep_alive.seconds'];

  // Target groups, each with its targets from --map.
  const groups: TargetGroupSpec[] = [];
  const groupName = new Map<string, string>();
  for (const [id, p] of of(TG) as Array<[string, TargetGroupProps]>) {
    checkProperties(id, TG, p);
    const ta = attrs(p.TargetGroupAttributes);
    // The stickiness settings matter only when it is on; then `stickiness.enabled` itself is named.
    checkAttributes(id, 'TargetGroupAttributes', p.TargetGroupAttributes, TG_ATTRIBUTES);
    if (p.TargetType === 'lambda') continue; // named by the catalogue; a rule forwarding to it is skipped
    if (p.Matcher?.GrpcCode) unsupported.push(`${id}.Matcher.GrpcCode: gRPC health checks`);
    const mapped = o.map[id] ?? (p.Name ? o.map[p.Name] : undefined) ?? [];
    if (mapped.length === 0) notes.push(`${id}: no --map ${id}=host:port, so no targets (requests forwarded to it get 503)`);
    const hc: NonNullable<TargetGroupSpec['healthCheck']> = {};
    if (p.HealthCheckPath) hc.path = p.HealthCheckPath;
    if (p.HealthCheckIntervalSeconds) hc.intervalMs = Number(p.HealthCheckIntervalSeconds) * 1000;
    if (p.HealthCheckTimeoutSeconds) hc.timeoutMs = Number(p.HealthCheckTimeoutSeconds) * 1000;
    if (p.HealthyThresholdCount) hc.healthyThreshold = Number(p.HealthyThresholdCount);
    if (p.UnhealthyThresholdCount) hc.unhealthyThreshold = Number(p.UnhealthyThresholdCount);
    if (p.Matcher?.HttpCode) hc.matcher = String(p.Matcher.HttpCode);
    // Only what differs from ALB's defaults is written, so a template and its export read back alike.
    if (p.HealthCheckEnabled === false || p.HealthCheckEnabled === 'false') hc.enabled = false;
    if (p.HealthCheckPort !== undefined && String(p.HealthCheckPort) !== 'traffic-port') hc.port = Number(p.HealthCheckPort);
    if ((p.HealthCheckProtocol === 'HTTP' || p.HealthCheckProtocol === 'HTTPS') && p.HealthCheckProtocol !== (p.Protocol ?? 'HTTP')) hc.protocol = p.HealthCheckProtocol;
    const algorithm = ta['load_balancing.algorithm.type'];
    const slowStart = Number(ta['slow_start.duration_seconds'] ?? 0);
    // Sticky sessions (AWS's defaults: lb_cookie, one day).
    const stickyType = ta['stickiness.type'] ?? 'lb_cookie';
    const stickiness =
      ta['stickiness.enabled'] === 'true' && (stickyType === 'lb_cookie' || stickyType === 'app_cookie')
        ? {
            type: stickyType as 'lb_cookie' | 'app_cookie',
            durationMs: Number(ta[`stickiness.${stickyType}.duration_seconds`] ?? 86_400) * 1000,
            ...(stickyType === 'app_cookie' && ta['stickiness.app_cookie.cookie_name'] ? { cookieName: ta['stickiness.app_cookie.cookie_name'] } : {}),
          }
        : undefined;
    // Its Name when it has one (what an export wrote), so names survive export → import.
    const name = typeof p.Name === 'string' && p.Name ? p.Name : id;
    groupName.set(id, name);
    groups.push({
      name,
      ...(p.Protocol === 'HTTPS' ? { protocol: 'HTTPS' as const } : {}),
      ...(algorithm === 'round_robin' || algorithm === 'least_outstanding_requests' || algorithm === 'weighted_random' ? { algorithm } : {}),
      ...(slowStart > 0 ? { slowStartMs: slowStart * 1000 } : {}),
      ...(stickiness ? { stickiness } : {}),
      ...(ta['deregistration_delay.timeout_seconds'] !== undefined ? { deregistrationDelayMs: Number(ta['deregistration_delay.timeout_seconds']) * 1000 } : {}),
      ...(Object.keys(hc).length ? { healthCheck: hc } : {}),
      targets: mapped.map((addr) => {
        const m = /^([^:\s]+):(\d{1,5})$/.exec(addr);
        if (!m) throw new GatewayConfigError(`--map ${id}=${addr}: expected host:port`);
        return { id: addr, host: m[1]!, port: Number(m[2]) };
      }),
    });
  }
  for (const key of Object.keys(o.map)) {
    if (!groupName.has(key) && !groups.some((g) => g.name === key)) throw new GatewayConfigError(`--map ${key}: no target group ${key} in ${source}`);
  }

  // Listener ports: the template's, or a free local one for a privileged port.
  const ports: Record<number, number> = {};
  const localPort = (p: number) => o.listenPorts?.[p] ?? ports[p] ?? (p < 1024 ? p + 8000 : p);

  const actionOf = (a: ActionProps, where: string): Action | undefined => {
    switch (a?.Type) {
      case 'forward': {
        const list = a.ForwardConfig?.TargetGroups ?? (a.TargetGroupArn ? [{ TargetGroupArn: a.TargetGroupArn }] : []);
        if (list.some((g) => !g.TargetGroupArn || !groupName.has(g.TargetGroupArn))) {
          unsupported.push(`${where}: forwards to ${list.map((g) => g.TargetGroupArn).join(', ')}, not a target group the gateway has`);
          return undefined;
        }
        const sticky = a.ForwardConfig?.TargetGroupStickinessConfig;
        const stickyOn = sticky?.Enabled === true || sticky?.Enabled === 'true';
        return {
          type: 'forward',
          targetGroups: list.map((g) => ({ name: groupName.get(g.TargetGroupArn!)!, ...(list.length > 1 || g.Weight !== undefined ? { weight: Number(g.Weight ?? 1) } : {}) })),
          ...(stickyOn ? { stickinessDurationMs: Number(sticky?.DurationSeconds ?? 3600) * 1000 } : {}),
        };
      }
      case 'redirect': {
        const c = a.RedirectConfig ?? {};
        // Only a redirect that stays on this load balancer moves with its listeners: a port of another host (an
        // absolute `Host`) is that host's, and stays as written.
        const sameHost = c.Host === undefined || c.Host === '#{host}';
        const port = c.Port !== undefined && sameHost && /^\d+$/.test(String(c.Port)) ? String(localPort(Number(c.Port))) : c.Port;
        return {
          type: 'redirect',
          statusCode: c.StatusCode as 'HTTP_301' | 'HTTP_302',
          // The values are the template's, checked against the gateway's schema by validateGatewayConfig below.
          ...(c.Protocol ? { protocol: c.Protocol as 'HTTP' | 'HTTPS' } : {}),
          ...(c.Host ? { host: c.Host } : {}),
          ...(port !== undefined ? { port: String(port) } : {}),
          ...(c.Path ? { path: c.Path } : {}),
          ...(c.Query !== undefined ? { query: c.Query } : {}),
        };
      }
      case 'fixed-response': {
        const c = a.FixedResponseConfig ?? {};
        return { type: 'fixed-response', statusCode: String(c.StatusCode), ...(c.ContentType ? { contentType: c.ContentType as 'text/plain' } : {}), ...(c.MessageBody !== undefined ? { messageBody: c.MessageBody } : {}) };
      }
      default:
        unsupported.push(`${where}: ${a?.Type ?? 'an action without Type'} actions`);
        return undefined;
    }
  };
  /** A jwt-validation action (AWS, "Verify JWTs using an Application Load Balancer"): its JwtValidationConfig. */
  const jwtOf = (a: ActionProps): JwtValidationAction => {
    const c = (a.JwtValidationConfig ?? {}) as { Issuer?: string; JwksEndpoint?: string; AdditionalClaims?: Array<{ Name?: string; Format?: string; Values?: string[] }> };
    const claims = Array.isArray(c.AdditionalClaims) ? c.AdditionalClaims : [];
    // The values are the template's, checked against the gateway's schema by validateGatewayConfig below.
    return {
      type: 'jwt-validation',
      issuer: String(c.Issuer ?? ''),
      jwksEndpoint: String(c.JwksEndpoint ?? ''),
      ...(claims.length ? { additionalClaims: claims.map((x) => ({ name: String(x.Name), format: x.Format as 'single-string', values: (x.Values ?? []).map(String) })) } : {}),
    };
  };
  /**
   * An authenticate action (AWS, "Authenticate users using an Application Load Balancer"): AuthenticateOidcConfig or
   * AuthenticateCognitoConfig. The values are the template's, checked by validateGatewayConfig below; what a local
   * run needs beyond the template — a client secret kept in Secrets Manager, Cognito's user pool — comes from the
   * command line (`--oidc-client-secret`, `--cognito-issuer`).
   */
  const authOf = (a: ActionProps): AuthenticateAction => {
    const common = (c: AuthenticateCommonProps) => ({
      ...(c.SessionCookieName !== undefined ? { sessionCookieName: String(c.SessionCookieName) } : {}),
      ...(c.SessionTimeout !== undefined ? { sessionTimeout: Number(c.SessionTimeout) } : {}),
      ...(c.Scope !== undefined ? { scope: String(c.Scope) } : {}),
      ...(c.OnUnauthenticatedRequest !== undefined ? { onUnauthenticatedRequest: c.OnUnauthenticatedRequest as 'authenticate' } : {}),
      ...(c.AuthenticationRequestExtraParams !== undefined ? { authenticationRequestExtraParams: Object.fromEntries(Object.entries(c.AuthenticationRequestExtraParams).map(([k, v]) => [k, String(v)])) } : {}),
    });
    if (a.Type === 'authenticate-cognito') {
      const c = a.AuthenticateCognitoConfig ?? {};
      return { type: 'authenticate-cognito', userPoolArn: String(c.UserPoolArn ?? ''), userPoolClientId: String(c.UserPoolClientId ?? ''), userPoolDomain: String(c.UserPoolDomain ?? ''), ...common(c) };
    }
    const c = a.AuthenticateOidcConfig ?? {};
    // A `{{resolve:secretsmanager:…}}` dynamic reference is read by CloudFormation in the account: locally, no secret.
    const secret = typeof c.ClientSecret === 'string' && !c.ClientSecret.startsWith('{{resolve:') ? { clientSecret: c.ClientSecret } : {};
    return {
      type: 'authenticate-oidc',
      issuer: String(c.Issuer ?? ''),
      authorizationEndpoint: String(c.AuthorizationEndpoint ?? ''),
      tokenEndpoint: String(c.TokenEndpoint ?? ''),
      userInfoEndpoint: String(c.UserInfoEndpoint ?? ''),
      clientId: String(c.ClientId ?? ''),
      ...secret,
      ...common(c),
    };
  };
  const isAuth = (a: ActionProps) => isAuthenticate(String(a.Type));
  const actionsOf = (list: ActionProps[] | undefined, where: string, protocol: string | undefined): RuleActions | undefined => {
    const all = (Array.isArray(list) ? list : []).slice().sort((x, y) => (x.Order ?? 0) - (y.Order ?? 0));
    // ALB refuses an authenticate action on an HTTP listener (its cookie is Secure, its callback https://…): a
    // template cannot hold one that deployed, so it is named and its rule skipped — never run unauthenticated.
    const refused = protocol !== 'HTTPS' ? all.find(isAuth) : undefined;
    if (refused) {
      unsupported.push(`${where}: ${refused.Type} on an HTTP listener (ALB accepts authenticate actions only on HTTPS listeners)`);
      return undefined;
    }
    // ALB runs an authenticate action and a jwt-validation first, in that order, then the one final action.
    const before = (a: ActionProps) => isAuth(a) || a.Type === 'jwt-validation';
    const final = all.filter((a) => !before(a));
    const jwt = all.find((a) => a.Type === 'jwt-validation');
    const auth = all.find(isAuth);
    const mapped = final.map((a, i) => actionOf(a, `${where}[${i}]`));
    if (mapped.length !== 1 || !mapped[0]) return undefined;
    return [...(auth ? [authOf(auth)] : []), ...(jwt ? [jwtOf(jwt)] : []), mapped[0]];
  };
  /**
   * A client secret the template cannot give locally (a parameter without a value, NoEcho as secrets are) is left out
   * rather than skipping its rule: `--oidc-client-secret` gives it, and the gateway refuses to start without it.
   */
  const dropSecretHoles = (list: unknown) => {
    for (const a of Array.isArray(list) ? (list as ActionProps[]) : []) {
      const c = a?.AuthenticateOidcConfig;
      if (c && 'ClientSecret' in c && c.ClientSecret === undefined) delete c.ClientSecret;
    }
  };
  /** The unresolved values inside one resource, as lines, for a skip that names its cause. */
  const holesOf = (id: string) => r.unresolved.filter((u) => u.where.startsWith(`${id}.`)).map(describeUnresolved);
  const reported = new Set<string>();

  /**
   * An HTTPS listener's policy and default certificate. No `SslPolicy` is ALB's default for templates
   * (ELBSecurityPolicy-2016-08); a name AWS's table does not have is named, and Node's defaults apply.
   */
  const listenerTls = (id: string, p: ListenerProps): { sslPolicy?: string; certificates: Array<{ arn: string }> } => {
    const name = p.SslPolicy === undefined ? DEFAULT_SSL_POLICY : String(p.SslPolicy);
    const known = securityPolicy(name);
    if (!known) unsupported.push(`${id}.SslPolicy = ${name}: a security policy this gateway does not know (Node’s TLS defaults apply)`);
    else if (known.pq) unsupported.push(`${id}.SslPolicy = ${name}: post-quantum (ML-KEM) key exchange — its versions and ciphers apply, with classical ECDHE only`);
    const arn = (Array.isArray(p.Certificates) ? p.Certificates : []).map((c) => c?.CertificateArn).find((a): a is string => typeof a === 'string' && a !== '');
    return { ...(known ? { sslPolicy: name } : {}), certificates: arn ? [{ arn }] : [] };
  };
  /** ALB's mutual TLS from `MutualAuthentication` (mode off is left out); the trust store by what its ARN resolves to. */
  const mutualAuthenticationOf = (p: ListenerProps) => {
    const m = p.MutualAuthentication;
    const mode = m?.Mode;
    if (mode !== 'verify' && mode !== 'passthrough') return {};
    return {
      mutualAuthentication: {
        mode,
        ...(mode === 'verify' && m?.TrustStoreArn ? { trustStore: String(m.TrustStoreArn) } : {}),
        ...(mode === 'verify' && m?.IgnoreClientCertificateExpiry !== undefined ? { ignoreClientCertificateExpiry: String(m.IgnoreClientCertificateExpiry) === 'true' } : {}),
      },
    } as const;
  };
  const listeners: GatewayConfig['listeners'] = [];
  const listenerIndex = new Map<string, number>();
  for (const [id, p] of of(LISTENER) as Array<[string, ListenerProps]>) {
    checkProperties(id, LISTENER, p);
    checkAttributes(id, 'ListenerAttributes', p.ListenerAttributes, LISTENER_ATTRIBUTES);
    if (p.MutualAuthentication?.Mode !== undefined) check(`${id}.MutualAuthentication.Mode`, PROPERTIES[LISTENER]!.MutualAuthentication, p.MutualAuthentication.Mode);
    if (p.Protocol !== 'HTTP' && p.Protocol !== 'HTTPS') continue; // named by the catalogue
    dropSecretHoles(p.DefaultActions);
    if (hasHole(p.DefaultActions) || hasHole(p.Port)) {
      for (const line of holesOf(id)) reported.add(line);
      unsupported.push(...holesOf(id), `${id}: listener skipped (a value it needs cannot be resolved)`);
      continue;
    }
    const port = localPort(Number(p.Port));
    ports[Number(p.Port)] = port;
    if (port !== Number(p.Port)) notes.push(`${id}: port ${p.Port} listens on ${port} locally`);
    const tlsSettings = p.Protocol === 'HTTPS' ? listenerTls(id, p) : {};
    const defaultActions = actionsOf(p.DefaultActions, `${id}.DefaultActions`, p.Protocol);
    if (!defaultActions) {
      unsupported.push(`${id}: no default action the gateway can run — listener skipped`);
      continue;
    }
    // Header modification: the response headers the listener adds, and the Server header of its own answers.
    const la = attrs(p.ListenerAttributes);
    const responseHeaders = Object.fromEntries(
      Object.entries(RESPONSE_HEADERS).flatMap(([name, key]) => {
        const value = la[`routing.http.response.${key}.header_value`];
        return value ? [[name, value]] : [];
      }),
    );
    listenerIndex.set(id, listeners.length);
    listeners.push({
      protocol: p.Protocol,
      port,
      ...tlsSettings,
      defaultActions,
      rules: [],
      ...(Object.keys(responseHeaders).length ? { responseHeaders } : {}),
      ...(la['routing.http.response.server.enabled'] === 'false' ? { serverHeader: false } : {}),
      ...(p.Protocol === 'HTTPS' ? mutualAuthenticationOf(p) : {}),
    });
  }

  // A listener's certificate list (ListenerCertificate resources), served by SNI beside its default certificate.
  for (const [id, p] of of(LISTENER_CERTIFICATE) as Array<[string, ListenerCertificateProps]>) {
    checkProperties(id, LISTENER_CERTIFICATE, p);
    const i = listenerIndex.get(String(p.ListenerArn));
    const l = i === undefined ? undefined : listeners[i];
    if (!l || l.protocol !== 'HTTPS') {
      unsupported.push(`${id}.ListenerArn: ${p.ListenerArn ?? '(missing)'} is no HTTPS listener the gateway has`);
      continue;
    }
    const arns = (Array.isArray(p.Certificates) ? p.Certificates : []).map((c) => c?.CertificateArn).filter((a): a is string => typeof a === 'string' && a !== '');
    for (const arn of arns) if (!l.certificates!.some((c) => c.arn === arn)) l.certificates!.push({ arn });
  }

  for (const [id, p] of of(RULE) as Array<[string, ListenerRuleProps]>) {
    checkProperties(id, RULE, p);
    dropSecretHoles(p.Actions);
    if (hasHole(p.Conditions) || hasHole(p.Actions) || hasHole(p.Priority) || hasHole(p.ListenerArn)) {
      for (const line of holesOf(id)) reported.add(line);
      unsupported.push(...holesOf(id), `${id}: rule skipped (a value it needs cannot be resolved)`);
      continue;
    }
    const i = listenerIndex.get(String(p.ListenerArn));
    if (i === undefined) {
      unsupported.push(`${id}.ListenerArn: ${p.ListenerArn ?? '(missing)'} is no listener the gateway has`);
      continue;
    }
    const conditions: Condition[] = [];
    let skip = false;
    for (const [k, c] of (Array.isArray(p.Conditions) ? p.Conditions : []).entries()) {
      const cond = conditionOf(c);
      if ('condition' in cond) conditions.push(cond.condition);
      else {
        unsupported.push(`${id}.Conditions[${k}]: ${cond.why}`);
        skip = true;
      }
    }
    const actions = actionsOf(p.Actions, `${id}.Actions`, listeners[i]!.protocol);
    if (skip || !actions) {
      unsupported.push(`${id}: rule skipped`);
      continue;
    }
    const transforms = transformsOf(p.Transforms, `${id}.Transforms`);
    if ('why' in transforms) {
      unsupported.push(transforms.why, `${id}: rule skipped`);
      continue;
    }
    listeners[i]!.rules!.push({ priority: Number(p.Priority), conditions, actions, ...(transforms.list.length ? { transforms: transforms.list } : {}) });
  }
  for (const l of listeners) {
    if (l.rules!.length === 0) delete l.rules;
    if (l.certificates?.length === 0) delete l.certificates;
  }

  // Unresolved values in settings the gateway reads; those in AWS-only settings change nothing locally.
  for (const u of r.unresolved) {
    if (/\.ClientSecret$/.test(u.where)) continue; // given by --oidc-client-secret (above)
    const line = describeUnresolved(u);
    if (reported.has(line)) continue;
    const m = /^(.+?)\.Properties\.(\w+)/.exec(u.where);
    const type = m ? resources[m[1]!]?.Type : undefined;
    if (m && type && PROPERTIES[type]?.[m[2]!]?.kind === 'aws') continue;
    unsupported.push(line);
  }
  for (const [id, res] of Object.entries(resources)) {
    const type = res?.Type;
    if (type === TRUST_STORE || type === TRUST_STORE_REVOCATION) {
      checkProperties(id, type, (res?.Properties ?? {}) as Record<string, unknown>);
      continue;
    }
    if (typeof type !== 'string' || [LB, LISTENER, LISTENER_CERTIFICATE, RULE, TG].includes(type)) continue;
    if (type in OTHER_TYPES) unsupported.push(`${id}: ${OTHER_TYPES[type]}`);
    else if (type.startsWith('AWS::ElasticLoadBalancingV2::')) unsupported.push(`${id}: ${type}, a resource type this gateway does not know`);
  }
  if (listeners.length === 0) throw new GatewayConfigError(`${source}: no listener the gateway can run${unsupported.length ? ` (${unsupported.join('; ')})` : ''}`);
  const config = validateGatewayConfig(
    {
      listeners,
      targetGroups: groups.length ? groups : [{ name: 'none' }],
      ...(idle ? { idleTimeoutMs: Number(idle) * 1000 } : {}),
      ...(keepAlive ? { clientKeepAliveMs: Number(keepAlive) * 1000 } : {}),
      ...(lbAttrs['routing.http2.enabled'] === 'false' ? { http2Enabled: false } : {}),
      ...(desync ? { desyncMitigationMode: desync } : {}),
      ...headerAttributes,
    },
    source,
  );
  return { config, unsupported, awsOnly, notes, ports };
}

/**
 * A rule's `Transforms` (AWS, "Transforms for listener rules"): host-header-rewrite and url-rewrite, each one regex
 * and its replacement; undefined (the rule is skipped and named) for a transform the gateway does not know.
 */
type RuleTransforms = NonNullable<NonNullable<GatewayConfig['listeners'][number]['rules']>[number]['transforms']>;

function transformsOf(list: ListenerRuleProps['Transforms'], where: string): { list: RuleTransforms } | { why: string } {
  const out: RuleTransforms = [];
  for (const [k, t] of (Array.isArray(list) ? list : []).entries()) {
    const config = t?.Type === 'host-header-rewrite' ? t.HostHeaderRewriteConfig : t?.Type === 'url-rewrite' ? t.UrlRewriteConfig : undefined;
    const rewrite = config?.Rewrites?.[0];
    if (!config || !rewrite?.Regex || rewrite.Replace === undefined) return { why: `${where}[${k}]: ${t?.Type ?? 'a transform without Type'} (a transform the gateway does not know)` };
    out.push({ type: t!.Type as 'host-header-rewrite' | 'url-rewrite', regex: String(rewrite.Regex), replace: String(rewrite.Replace) });
  }
  return { list: out };
}

/**
 * A ListenerRule condition (the `…Config` forms, and the older `Values` form of host-header and path-pattern), or
 * why the gateway cannot evaluate it. Regex match values (`RegexValues`) are not evaluated locally.
 */
function conditionOf(c: ConditionProps): { condition: Condition } | { why: string } {
  /** Wildcards and regular expressions of a `…Config`, each only when given. */
  const both = (config: { Values?: string[]; RegexValues?: string[] } | undefined) => {
    const values = config?.Values ?? c.Values;
    const regexValues = config?.RegexValues ?? c.RegexValues;
    return { ...(values?.length ? { values } : {}), ...(regexValues?.length ? { regexValues } : {}) };
  };
  switch (c?.Field) {
    case 'host-header':
      return { condition: { field: 'host-header', ...both(c.HostHeaderConfig) } };
    case 'path-pattern':
      return { condition: { field: 'path-pattern', ...both(c.PathPatternConfig) } };
    case 'http-request-method':
      return { condition: { field: 'http-request-method', values: c.HttpRequestMethodConfig?.Values ?? c.Values ?? [] } };
    case 'http-header':
      return { condition: { field: 'http-header', httpHeaderName: c.HttpHeaderConfig?.HttpHeaderName ?? '', ...both(c.HttpHeaderConfig) } };
    case 'query-string':
      return { condition: { field: 'query-string', values: (c.QueryStringConfig?.Values ?? []).map((v) => ({ ...(v.Key !== undefined ? { key: v.Key } : {}), value: String(v.Value) })) } };
    case 'source-ip':
      return { condition: { field: 'source-ip', values: c.SourceIpConfig?.Values ?? c.Values ?? [] } };
  }
  return { why: c?.Field ?? 'a condition without Field' };
}
