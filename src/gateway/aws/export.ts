/**
 * The gateway's configuration written back as a CloudFormation template a user can deploy: what was tested locally
 * is what gets deployed. Property names follow AWS's CloudFormation reference (AWS::ElasticLoadBalancingV2::*).
 */
import { stringify } from 'yaml';
import { RESPONSE_HEADERS, type Action, type AuthenticateAction, type Condition, type GatewayConfig, type JwtValidationAction } from '../config.ts';
import { ALB_DEFAULTS } from '../limits.ts';
import { LB, LISTENER, LISTENER_CERTIFICATE, RULE, TG, TRUST_STORE } from './catalogue.ts';
import type { Json } from './shapes.ts';

/** The AWS policy nearest to Node's TLS defaults, for an HTTPS listener configured without a policy. */
const NODE_DEFAULTS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/**
 * The configuration as a CloudFormation template: what was tested locally is what gets deployed. The network
 * (VPC, subnets, security groups) are parameters: they are the account's, not the gateway's; so is the certificate,
 * unless the listener names its ARNs (from a template, or `certificates` in the configuration).
 */
export function toCloudFormation(config: GatewayConfig): Json {
  const id = (name: string) => `${name.replace(/[^A-Za-z0-9]/g, '')}TargetGroup`;
  /** NoEcho parameters for the OIDC clients' secrets: a template never carries a secret, the stack is given it. */
  const secrets: Record<string, Json> = {};
  const action = (a: Action | JwtValidationAction | AuthenticateAction, order?: number): Json => {
    const base = order !== undefined ? { Order: order } : {};
    if (a.type === 'authenticate-oidc' || a.type === 'authenticate-cognito') {
      // Only what differs from ALB's defaults is written, as elsewhere, so an import and its export read back alike.
      const common = {
        ...(a.sessionCookieName !== undefined ? { SessionCookieName: a.sessionCookieName } : {}),
        ...(a.sessionTimeout !== undefined ? { SessionTimeout: a.sessionTimeout } : {}),
        ...(a.scope !== undefined ? { Scope: a.scope } : {}),
        ...(a.onUnauthenticatedRequest !== undefined ? { OnUnauthenticatedRequest: a.onUnauthenticatedRequest } : {}),
        ...(a.authenticationRequestExtraParams !== undefined ? { AuthenticationRequestExtraParams: a.authenticationRequestExtraParams } : {}),
      };
      if (a.type === 'authenticate-cognito') {
        return { ...base, Type: a.type, AuthenticateCognitoConfig: { UserPoolArn: a.userPoolArn, UserPoolClientId: a.userPoolClientId, UserPoolDomain: a.userPoolDomain, ...common } };
      }
      const param = `${a.clientId.replace(/[^A-Za-z0-9]/g, '')}ClientSecret`;
      secrets[param] = { Type: 'String', NoEcho: true, Description: `the client secret of OIDC client ${a.clientId} (given locally with --oidc-client-secret)` };
      return {
        ...base,
        Type: a.type,
        AuthenticateOidcConfig: { Issuer: a.issuer, AuthorizationEndpoint: a.authorizationEndpoint, TokenEndpoint: a.tokenEndpoint, UserInfoEndpoint: a.userInfoEndpoint, ClientId: a.clientId, ClientSecret: { Ref: param }, ...common },
      };
    }
    if (a.type === 'jwt-validation') {
      const claims = a.additionalClaims?.length ? { AdditionalClaims: a.additionalClaims.map((c) => ({ Name: c.name, Format: c.format, Values: c.values })) } : {};
      return { ...base, Type: 'jwt-validation', JwtValidationConfig: { Issuer: a.issuer, JwksEndpoint: a.jwksEndpoint, ...claims } };
    }
    if (a.type === 'forward') {
      const stickiness = a.stickinessDurationMs !== undefined ? { TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: Math.round(a.stickinessDurationMs / 1000) } } : {};
      return a.targetGroups.length === 1 && a.targetGroups[0]!.weight === undefined && a.stickinessDurationMs === undefined
        ? { ...base, Type: 'forward', TargetGroupArn: { Ref: id(a.targetGroups[0]!.name) } }
        : { ...base, Type: 'forward', ForwardConfig: { TargetGroups: a.targetGroups.map((g) => ({ TargetGroupArn: { Ref: id(g.name) }, Weight: g.weight ?? 1 })), ...stickiness } };
    }
    if (a.type === 'redirect') {
      const c: Json = { StatusCode: a.statusCode };
      if (a.protocol) c.Protocol = a.protocol;
      if (a.host) c.Host = a.host;
      if (a.port) c.Port = a.port;
      if (a.path) c.Path = a.path;
      if (a.query !== undefined) c.Query = a.query;
      return { ...base, Type: 'redirect', RedirectConfig: c };
    }
    return { ...base, Type: 'fixed-response', FixedResponseConfig: { StatusCode: a.statusCode, ...(a.contentType ? { ContentType: a.contentType } : {}), ...(a.messageBody !== undefined ? { MessageBody: a.messageBody } : {}) } };
  };
    const condition = (c: Condition): Json => {
    /** Wildcards as `Values`, regular expressions as `RegexValues`, each only when the condition has them. */
    const both = (x: { values?: string[]; regexValues?: string[] }) => ({ ...(x.values ? { Values: x.values } : {}), ...(x.regexValues ? { RegexValues: x.regexValues } : {}) });
    switch (c.field) {
      case 'host-header':
        return { Field: c.field, HostHeaderConfig: both(c) };
      case 'path-pattern':
        return { Field: c.field, PathPatternConfig: both(c) };
      case 'http-request-method':
        return { Field: c.field, HttpRequestMethodConfig: { Values: c.values } };
      case 'http-header':
        return { Field: c.field, HttpHeaderConfig: { HttpHeaderName: c.httpHeaderName, ...both(c) } };
      case 'query-string':
        return { Field: c.field, QueryStringConfig: { Values: c.values.map((v) => ({ ...(v.key !== undefined ? { Key: v.key } : {}), Value: v.value })) } };
      case 'source-ip':
        return { Field: c.field, SourceIpConfig: { Values: c.values } };
    }
  };
  const resources: Record<string, Json> = {
    LoadBalancer: {
      Type: LB,
      Properties: {
        Type: 'application',
        Scheme: 'internet-facing',
        Subnets: { Ref: 'Subnets' },
        SecurityGroups: { Ref: 'SecurityGroups' },
        LoadBalancerAttributes: [
          { Key: 'idle_timeout.timeout_seconds', Value: String(Math.max(1, Math.round((config.idleTimeoutMs ?? ALB_DEFAULTS.idleTimeoutMs) / 1000))) },
          { Key: 'routing.http.desync_mitigation_mode', Value: config.desyncMitigationMode ?? ALB_DEFAULTS.desyncMitigationMode },
          ...(config.http2Enabled === false ? [{ Key: 'routing.http2.enabled', Value: 'false' }] : []),
          ...(config.xffHeaderProcessingMode ? [{ Key: 'routing.http.xff_header_processing.mode', Value: config.xffHeaderProcessingMode }] : []),
          ...(config.xffClientPort ? [{ Key: 'routing.http.xff_client_port.enabled', Value: 'true' }] : []),
          ...(config.preserveHostHeader ? [{ Key: 'routing.http.preserve_host_header.enabled', Value: 'true' }] : []),
          ...(config.dropInvalidHeaderFields ? [{ Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' }] : []),
          ...(config.tlsVersionAndCipherSuiteHeaders ? [{ Key: 'routing.http.x_amzn_tls_version_and_cipher_suite.enabled', Value: 'true' }] : []),
          ...(config.clientKeepAliveMs !== undefined ? [{ Key: 'client_keep_alive.seconds', Value: String(Math.round(config.clientKeepAliveMs / 1000)) }] : []),
        ],
      },
    },
  };
  for (const g of config.targetGroups) {
    const hc = g.healthCheck ?? {};
    resources[id(g.name)] = {
      Type: TG,
      Properties: {
        Name: g.name.slice(0, 32),
        VpcId: { Ref: 'VpcId' },
        Protocol: g.protocol ?? 'HTTP',
        Port: g.targets?.[0]?.port ?? 80,
        TargetType: 'ip',
        ...(hc.path ? { HealthCheckPath: hc.path } : {}),
        ...(hc.intervalMs ? { HealthCheckIntervalSeconds: Math.max(5, Math.round(hc.intervalMs / 1000)) } : {}),
        ...(hc.timeoutMs ? { HealthCheckTimeoutSeconds: Math.max(2, Math.round(hc.timeoutMs / 1000)) } : {}),
        ...(hc.healthyThreshold ? { HealthyThresholdCount: Math.max(2, hc.healthyThreshold) } : {}),
        ...(hc.unhealthyThreshold ? { UnhealthyThresholdCount: Math.max(2, hc.unhealthyThreshold) } : {}),
        ...(hc.matcher ? { Matcher: { HttpCode: hc.matcher } } : {}),
        ...(hc.enabled === false ? { HealthCheckEnabled: false } : {}),
        ...(hc.port !== undefined ? { HealthCheckPort: String(hc.port) } : {}),
        ...(hc.protocol ? { HealthCheckProtocol: hc.protocol } : {}),
        TargetGroupAttributes: [
          ...(g.deregistrationDelayMs !== undefined ? [{ Key: 'deregistration_delay.timeout_seconds', Value: String(Math.round(g.deregistrationDelayMs / 1000)) }] : []),
          ...(g.algorithm ? [{ Key: 'load_balancing.algorithm.type', Value: g.algorithm }] : []),
          ...(g.slowStartMs ? [{ Key: 'slow_start.duration_seconds', Value: String(Math.round(g.slowStartMs / 1000)) }] : []),
          ...(g.stickiness
            ? [
                { Key: 'stickiness.enabled', Value: 'true' },
                { Key: 'stickiness.type', Value: g.stickiness.type },
                { Key: `stickiness.${g.stickiness.type}.duration_seconds`, Value: String(Math.round(g.stickiness.durationMs / 1000)) },
                ...(g.stickiness.cookieName ? [{ Key: 'stickiness.app_cookie.cookie_name', Value: g.stickiness.cookieName }] : []),
              ]
            : []),
        ],
      },
    };
  }
  config.listeners.forEach((l, i) => {
    const name = `Listener${l.protocol}${l.port}`.replace(/[^A-Za-z0-9]/g, '') || `Listener${i}`;
    resources[name] = {
      Type: LISTENER,
      Properties: {
        LoadBalancerArn: { Ref: 'LoadBalancer' },
        Protocol: l.protocol,
        Port: l.port,
        ...(l.protocol === 'HTTPS' ? { Certificates: [{ CertificateArn: l.certificates?.[0]?.arn ?? { Ref: 'CertificateArn' } }] } : {}),
        // Without one, AWS would apply ELBSecurityPolicy-2016-08 (TLS 1.0, no TLS 1.3), far from the Node defaults
        // tested locally (TLS 1.2 and 1.3, forward-secret ciphers): the nearest AWS policy is written instead.
        ...(l.protocol === 'HTTPS' ? { SslPolicy: l.sslPolicy ?? NODE_DEFAULTS_POLICY } : {}),
        DefaultActions: l.defaultActions.map((a, k) => action(a, l.defaultActions.length > 1 ? k + 1 : undefined)),
        ...(l.mutualAuthentication && l.mutualAuthentication.mode !== 'off'
          ? {
              MutualAuthentication: {
                Mode: l.mutualAuthentication.mode,
                // A trust store named by a template's logical id is made by the stack (below), its bundle in S3.
                ...(l.mutualAuthentication.trustStore ? { TrustStoreArn: l.mutualAuthentication.trustStore.startsWith('arn:') ? l.mutualAuthentication.trustStore : { Ref: trustStoreId(l.mutualAuthentication.trustStore) } } : {}),
                ...(l.mutualAuthentication.ignoreClientCertificateExpiry !== undefined ? { IgnoreClientCertificateExpiry: l.mutualAuthentication.ignoreClientCertificateExpiry } : {}),
              },
            }
          : {}),
        ...(l.responseHeaders || l.serverHeader === false
          ? {
              ListenerAttributes: [
                ...Object.entries(l.responseHeaders ?? {}).map(([name, value]) => ({ Key: `routing.http.response.${RESPONSE_HEADERS[name as keyof typeof RESPONSE_HEADERS]}.header_value`, Value: value })),
                ...(l.serverHeader === false ? [{ Key: 'routing.http.response.server.enabled', Value: 'false' }] : []),
              ],
            }
          : {}),
      },
    };
    // The rest of its certificate list, one ListenerCertificate (AWS takes several per resource; one reads plainer).
    if (l.certificates && l.certificates.length > 1) {
      resources[`${name}Certificates`] = { Type: LISTENER_CERTIFICATE, Properties: { ListenerArn: { Ref: name }, Certificates: l.certificates.slice(1).map((c) => ({ CertificateArn: c.arn })) } };
    }
    for (const r of l.rules ?? []) {
      resources[`${name}Rule${r.priority}`] = {
        Type: RULE,
        Properties: {
          ListenerArn: { Ref: name },
          Priority: r.priority,
          Conditions: r.conditions.map(condition),
          Actions: r.actions.map((a, k) => action(a, k + 1)),
          ...(r.transforms?.length
            ? {
                Transforms: r.transforms.map((t) => ({
                  Type: t.type,
                  [t.type === 'host-header-rewrite' ? 'HostHeaderRewriteConfig' : 'UrlRewriteConfig']: { Rewrites: [{ Regex: t.regex, Replace: t.replace }] },
                })),
              }
            : {}),
        },
      };
    }
  });
  const stores = [...new Set(config.listeners.flatMap((l) => (l.mutualAuthentication?.trustStore && !l.mutualAuthentication.trustStore.startsWith('arn:') ? [l.mutualAuthentication.trustStore] : [])))];
  for (const id of stores) {
    resources[trustStoreId(id)] = { Type: TRUST_STORE, Properties: { CaCertificatesBundleS3Bucket: { Ref: 'TrustStoreBucket' }, CaCertificatesBundleS3Key: { Ref: 'TrustStoreKey' } } };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'An Application Load Balancer exported by `receipt gateway --export cloudformation`: the configuration tested locally.',
    Parameters: {
      VpcId: { Type: 'AWS::EC2::VPC::Id' },
      Subnets: { Type: 'List<AWS::EC2::Subnet::Id>' },
      SecurityGroups: { Type: 'List<AWS::EC2::SecurityGroup::Id>' },
      ...(config.listeners.some((l) => l.protocol === 'HTTPS' && !l.certificates?.length) ? { CertificateArn: { Type: 'String', Description: 'ACM certificate for the HTTPS listener' } } : {}),
      ...(stores.length
        ? {
            TrustStoreBucket: { Type: 'String', Description: 'the S3 bucket of the mutual-TLS trust store’s CA bundle' },
            TrustStoreKey: { Type: 'String', Description: 'the S3 key of the CA bundle (the file given locally with --trust-store)' },
          }
        : {}),
      ...secrets,
    },
    Resources: resources,
  };
}

/** A trust store's logical id in the exported template. */
const trustStoreId = (name: string) => name.replace(/[^A-Za-z0-9]/g, '') || 'TrustStore';

/** The template as YAML (long-form intrinsics, readable by every CloudFormation tool). */
export function formatTemplate(template: Json, format: 'yaml' | 'json' = 'yaml'): string {
  return format === 'json' ? JSON.stringify(template, null, 2) + '\n' : stringify(template, { lineWidth: 0 });
}
