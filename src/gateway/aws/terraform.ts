/**
 * A Terraform plan in JSON (`terraform show -json plan.out`) read into the CloudFormation shape, so one reader
 * (cloudformation.ts) maps both sources to the gateway and judges every setting against the same catalogue.
 *
 * Each argument of the Terraform AWS provider's `aws_lb`, `aws_lb_listener`, `aws_lb_listener_rule` and
 * `aws_lb_target_group` (also `aws_alb*`) becomes the CloudFormation property or attribute of the same meaning. An
 * argument with no CloudFormation form, or one this file does not know, is kept in the template's
 * `Metadata['Receipt::Unmapped']` with its address, so it is named at start like any setting the gateway cannot be.
 *
 * References between resources (`listener_arn = aws_lb_listener.front.arn`) are unknown at plan time; the plan's
 * `configuration` section names them, so they are read from there.
 */
import { GatewayConfigError } from '../config.ts';
import { LB, LISTENER, LISTENER_CERTIFICATE, RULE, TG, TRUST_STORE, TRUST_STORE_REVOCATION, WAF_ASSOCIATION } from './catalogue.ts';
import type { Json, KeyValue, Template } from './shapes.ts';

const TF_TYPES: Record<string, string> = {
  aws_lb: LB,
  aws_alb: LB,
  aws_lb_listener: LISTENER,
  aws_alb_listener: LISTENER,
  aws_lb_listener_rule: RULE,
  aws_alb_listener_rule: RULE,
  aws_lb_target_group: TG,
  aws_alb_target_group: TG,
  aws_lb_listener_certificate: LISTENER_CERTIFICATE,
  aws_alb_listener_certificate: LISTENER_CERTIFICATE,
  aws_lb_trust_store: TRUST_STORE,
  aws_lb_trust_store_revocation: TRUST_STORE_REVOCATION,
  aws_wafv2_web_acl_association: WAF_ASSOCIATION,
};

/** Arguments the provider computes (known after apply) or that only repeat another: never settings. */
const COMPUTED = new Set(['arn', 'arn_suffix', 'id', 'dns_name', 'zone_id', 'vpc_id', 'tags_all', 'load_balancer_arns', 'region']);

const first = (v: Json) => (Array.isArray(v) ? v[0] : v);
const isEmpty = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
const strip = (o: Json): Json =>
  Array.isArray(o) ? o.map(strip) : o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, strip(v)])) : o;

/** What one resource's arguments become: properties, attributes (under the property that lists them), and the unknown. */
class Mapped {
  readonly props: Record<string, unknown> = {};
  readonly attributes: KeyValue[] = [];
  readonly unmapped: string[] = [];
  constructor(
    readonly address: string,
    readonly values: Record<string, Json>,
  ) {}
  prop(name: string, v: unknown) {
    if (!isEmpty(v)) this.props[name] = v;
  }
  attr(key: string, v: unknown) {
    if (!isEmpty(v)) this.attributes.push({ Key: key, Value: String(v) });
  }
  /** Names every argument not in `known`, unless it is empty (Terraform writes unset arguments as null or []). */
  rest(known: ReadonlySet<string>, why: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(this.values)) {
      if (known.has(k) || COMPUTED.has(k) || isEmpty(v)) continue;
      this.unmapped.push(`${this.address}.${k}: ${why[k] ?? 'an argument this gateway does not know'}`);
    }
  }
}

export function terraformToCloudFormation(plan: Json, source = 'plan'): Template {
  const planned: Json[] = [];
  const walk = (m: Json) => {
    for (const r of m?.resources ?? []) planned.push(r);
    for (const c of m?.child_modules ?? []) walk(c);
  };
  walk(plan?.planned_values?.root_module);
  if (planned.length === 0) throw new GatewayConfigError(`${source}: no planned_values.root_module.resources (make it with terraform show -json)`);
  const refs = new Map<string, Record<string, string[]>>();
  const collect = (m: Json, prefix: string) => {
    for (const r of m?.resources ?? []) {
      const found: Record<string, string[]> = {};
      const visit = (e: Json, path: string) => {
        if (e && typeof e === 'object' && Array.isArray(e.references)) found[path] = e.references;
        else if (Array.isArray(e)) e.forEach((x, i) => visit(x, `${path}[${i}]`));
        else if (e && typeof e === 'object') for (const [k, v] of Object.entries(e)) visit(v, path ? `${path}.${k}` : k);
      };
      visit(r.expressions ?? {}, '');
      refs.set(prefix + r.address, found);
    }
    for (const [name, call] of Object.entries(m?.module_calls ?? {})) collect((call as Json).module, `${prefix}module.${name}.`);
  };
  collect(plan?.configuration?.root_module, '');
  /** An ARN argument: its value when known, else the resource its expression references (`aws_lb.shop.arn` → `aws_lb.shop`). */
  const ref = (address: string, path: string, value: unknown): string | undefined => {
    if (typeof value === 'string' && value && !/^arn:/.test(value)) return value;
    const list = refs.get(address)?.[path];
    return list?.find((x) => /^(aws_\w+)\.[\w-]+$/.test(x)) ?? list?.[0]?.replace(/\.arn$/, '') ?? (typeof value === 'string' ? value : undefined);
  };

  const actions = (address: string, base: string, list: Json[]) =>
    (list ?? []).map((a: Json, i: number) => {
      const p = `${base}[${i}]`;
      const type = a.type;
      if (type === 'forward') {
        const fwd = first(a.forward);
        const groups = fwd?.target_group?.length
          ? fwd.target_group.map((g: Json, k: number) => ({ TargetGroupArn: ref(address, `${p}.forward[0].target_group[${k}].arn`, g.arn), Weight: g.weight }))
          : [{ TargetGroupArn: ref(address, `${p}.target_group_arn`, a.target_group_arn) }];
        const sticky = first(fwd?.stickiness);
        return {
          Type: 'forward',
          Order: a.order,
          ForwardConfig: { TargetGroups: groups, ...(sticky?.enabled ? { TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: sticky.duration } } : {}) },
        };
      }
      if (type === 'redirect') {
        const c = first(a.redirect) ?? {};
        return { Type: 'redirect', Order: a.order, RedirectConfig: { Protocol: c.protocol, Host: c.host, Port: c.port, Path: c.path, Query: c.query, StatusCode: c.status_code } };
      }
      if (type === 'fixed-response') {
        const c = first(a.fixed_response) ?? {};
        return { Type: 'fixed-response', Order: a.order, FixedResponseConfig: { StatusCode: c.status_code, ContentType: c.content_type, MessageBody: c.message_body } };
      }
      if (type === 'jwt-validation') {
        // The provider's `jwt_validation` block: issuer, jwks_endpoint, and repeatable `additional_claim` blocks.
        const c = first(a.jwt_validation) ?? {};
        const claims = (c.additional_claim ?? []).map((x: Json) => ({ Name: x.name, Format: x.format, Values: x.values }));
        return { Type: type, Order: a.order, JwtValidationConfig: { Issuer: c.issuer, JwksEndpoint: c.jwks_endpoint, ...(claims.length ? { AdditionalClaims: claims } : {}) } };
      }
      if (type === 'authenticate-oidc' || type === 'authenticate-cognito') {
        // The provider's `authenticate_oidc` / `authenticate_cognito` blocks: the same settings in snake case.
        const c = first(type === 'authenticate-oidc' ? a.authenticate_oidc : a.authenticate_cognito) ?? {};
        const common = {
          SessionCookieName: c.session_cookie_name,
          SessionTimeout: c.session_timeout,
          Scope: c.scope,
          OnUnauthenticatedRequest: c.on_unauthenticated_request,
          AuthenticationRequestExtraParams: c.authentication_request_extra_params,
        };
        return type === 'authenticate-oidc'
          ? {
              Type: type,
              Order: a.order,
              AuthenticateOidcConfig: {
                Issuer: c.issuer,
                AuthorizationEndpoint: c.authorization_endpoint,
                TokenEndpoint: c.token_endpoint,
                UserInfoEndpoint: c.user_info_endpoint,
                ClientId: c.client_id,
                // Sensitive in the plan: present when the plan shows it, else given by --oidc-client-secret.
                ...(typeof c.client_secret === 'string' ? { ClientSecret: c.client_secret } : {}),
                ...common,
              },
            }
          : { Type: type, Order: a.order, AuthenticateCognitoConfig: { UserPoolArn: c.user_pool_arn, UserPoolClientId: c.user_pool_client_id, UserPoolDomain: c.user_pool_domain, ...common } };
      }
      return { Type: type, Order: a.order };
    });

  const resources: Record<string, Json> = {};
  const unmapped: string[] = [];
  for (const r of planned) {
    const type = TF_TYPES[r.type];
    const a = r.address as string;
    if (!type) {
      if (r.type === 'aws_lb_target_group_attachment' || r.type === 'aws_alb_target_group_attachment') unmapped.push(`${a}: registered targets come from --map locally`);
      else if (/^aws_(a?lb|wafv2_web_acl_association)/.test(String(r.type))) unmapped.push(`${a}: ${r.type}, a resource type this gateway does not know`);
      continue;
    }
    const m = new Mapped(a, r.values ?? {});
    const v = m.values;
    if (type === LB) {
      m.prop('Name', v.name ?? v.name_prefix);
      m.prop('Type', v.load_balancer_type ?? 'application');
      if (v.internal !== undefined && v.internal !== null) m.prop('Scheme', v.internal ? 'internal' : 'internet-facing');
      m.prop('Subnets', v.subnets);
      m.prop('SubnetMappings', v.subnet_mapping);
      m.prop('SecurityGroups', v.security_groups);
      m.prop('IpAddressType', v.ip_address_type);
      m.prop('Tags', v.tags);
      m.prop('EnablePrefixForIpv6SourceNat', v.enable_prefix_for_ipv6_source_nat);
      m.prop('EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic', v.enforce_security_group_inbound_rules_on_private_link_traffic);
      m.prop('Ipv4IpamPoolId', first(v.ipam_pools)?.ipv4_ipam_pool_id);
      m.prop('MinimumLoadBalancerCapacity', first(v.minimum_load_balancer_capacity));
      m.attr('idle_timeout.timeout_seconds', v.idle_timeout);
      m.attr('client_keep_alive.seconds', v.client_keep_alive);
      m.attr('routing.http2.enabled', v.enable_http2);
      m.attr('routing.http.desync_mitigation_mode', v.desync_mitigation_mode);
      m.attr('routing.http.drop_invalid_header_fields.enabled', v.drop_invalid_header_fields);
      m.attr('routing.http.preserve_host_header.enabled', v.preserve_host_header);
      m.attr('routing.http.xff_client_port.enabled', v.enable_xff_client_port);
      m.attr('routing.http.xff_header_processing.mode', v.xff_header_processing_mode);
      m.attr('routing.http.x_amzn_tls_version_and_cipher_suite.enabled', v.enable_tls_version_and_cipher_suite_headers);
      m.attr('waf.fail_open.enabled', v.enable_waf_fail_open);
      m.attr('deletion_protection.enabled', v.enable_deletion_protection);
      m.attr('load_balancing.cross_zone.enabled', v.enable_cross_zone_load_balancing);
      m.attr('zonal_shift.config.enabled', v.enable_zonal_shift);
      for (const [block, prefix] of [['access_logs', 'access_logs.s3'], ['connection_logs', 'connection_logs.s3'], ['health_check_logs', 'health_check_logs.s3']] as const) {
        const b = first(v[block]);
        if (!b) continue;
        m.attr(`${prefix}.enabled`, b.enabled);
        m.attr(`${prefix}.bucket`, b.bucket);
        m.attr(`${prefix}.prefix`, b.prefix);
      }
      m.prop('LoadBalancerAttributes', m.attributes);
      m.rest(
        new Set(['name', 'name_prefix', 'load_balancer_type', 'internal', 'subnets', 'subnet_mapping', 'security_groups', 'ip_address_type', 'tags', 'enable_prefix_for_ipv6_source_nat', 'enforce_security_group_inbound_rules_on_private_link_traffic', 'ipam_pools', 'minimum_load_balancer_capacity', 'idle_timeout', 'client_keep_alive', 'enable_http2', 'desync_mitigation_mode', 'drop_invalid_header_fields', 'preserve_host_header', 'enable_xff_client_port', 'xff_header_processing_mode', 'enable_tls_version_and_cipher_suite_headers', 'enable_waf_fail_open', 'enable_deletion_protection', 'enable_cross_zone_load_balancing', 'enable_zonal_shift', 'access_logs', 'connection_logs', 'health_check_logs']),
        { customer_owned_ipv4_pool: 'Outposts addresses (the network is the account’s)', dns_record_client_routing_policy: 'DNS routing of network load balancers' },
      );
    } else if (type === TG) {
      const hc = first(v.health_check) ?? {};
      m.prop('Name', v.name ?? v.name_prefix);
      m.prop('Port', v.port);
      m.prop('Protocol', v.protocol);
      m.prop('ProtocolVersion', v.protocol_version);
      m.prop('TargetType', v.target_type);
      m.prop('VpcId', v.vpc_id);
      m.prop('IpAddressType', v.ip_address_type);
      m.prop('Tags', v.tags);
      m.prop('HealthCheckEnabled', hc.enabled);
      m.prop('HealthCheckPath', hc.path);
      m.prop('HealthCheckPort', hc.port);
      m.prop('HealthCheckProtocol', hc.protocol);
      m.prop('HealthCheckIntervalSeconds', hc.interval);
      m.prop('HealthCheckTimeoutSeconds', hc.timeout);
      m.prop('HealthyThresholdCount', hc.healthy_threshold);
      m.prop('UnhealthyThresholdCount', hc.unhealthy_threshold);
      if (hc.matcher) m.prop('Matcher', v.protocol_version === 'GRPC' ? { GrpcCode: hc.matcher } : { HttpCode: hc.matcher });
      m.attr('deregistration_delay.timeout_seconds', v.deregistration_delay);
      m.attr('slow_start.duration_seconds', v.slow_start);
      m.attr('load_balancing.algorithm.type', v.load_balancing_algorithm_type);
      m.attr('load_balancing.algorithm.anomaly_mitigation', v.load_balancing_anomaly_mitigation);
      m.attr('load_balancing.cross_zone.enabled', v.load_balancing_cross_zone_enabled);
      m.attr('lambda.multi_value_headers.enabled', v.target_type === 'lambda' ? v.lambda_multi_value_headers_enabled : undefined);
      const sticky = first(v.stickiness);
      if (sticky) {
        m.attr('stickiness.enabled', sticky.enabled);
        m.attr('stickiness.type', sticky.type);
        if (sticky.type === 'app_cookie') {
          m.attr('stickiness.app_cookie.cookie_name', sticky.cookie_name);
          m.attr('stickiness.app_cookie.duration_seconds', sticky.cookie_duration);
        } else m.attr('stickiness.lb_cookie.duration_seconds', sticky.cookie_duration);
      }
      const health = first(v.target_group_health);
      for (const [block, prefix] of [['dns_failover', 'target_group_health.dns_failover'], ['unhealthy_state_routing', 'target_group_health.unhealthy_state_routing']] as const) {
        const b = first(health?.[block]);
        if (!b) continue;
        m.attr(`${prefix}.minimum_healthy_targets.count`, b.minimum_healthy_targets_count);
        m.attr(`${prefix}.minimum_healthy_targets.percentage`, b.minimum_healthy_targets_percentage);
      }
      m.prop('TargetGroupAttributes', m.attributes);
      const nlb = 'network and gateway load balancers only';
      m.rest(
        new Set(['name', 'name_prefix', 'port', 'protocol', 'protocol_version', 'target_type', 'vpc_id', 'ip_address_type', 'tags', 'health_check', 'deregistration_delay', 'slow_start', 'load_balancing_algorithm_type', 'load_balancing_anomaly_mitigation', 'load_balancing_cross_zone_enabled', 'lambda_multi_value_headers_enabled', 'stickiness', 'target_group_health']),
        { connection_termination: nlb, preserve_client_ip: nlb, proxy_protocol_v2: nlb, target_failover: nlb, target_health_state: nlb },
      );
    } else if (type === LISTENER) {
      m.prop('LoadBalancerArn', ref(a, 'load_balancer_arn', v.load_balancer_arn));
      m.prop('Port', v.port);
      m.prop('Protocol', v.protocol);
      m.prop('SslPolicy', v.ssl_policy);
      m.prop('AlpnPolicy', v.alpn_policy);
      // A certificate made in the same plan is known only after apply: its address stands for its ARN.
      const cert = ref(a, 'certificate_arn', v.certificate_arn);
      m.prop('Certificates', cert ? [{ CertificateArn: cert }] : undefined);
      m.prop('DefaultActions', actions(a, 'default_action', v.default_action));
      const mtls = first(v.mutual_authentication);
      if (mtls) m.prop('MutualAuthentication', { Mode: mtls.mode, TrustStoreArn: ref(a, 'mutual_authentication[0].trust_store_arn', mtls.trust_store_arn), IgnoreClientCertificateExpiry: mtls.ignore_client_certificate_expiry });
      // routing_http_response_server_enabled → routing.http.response.server.enabled, and the same for every
      // header-modification argument: the provider spells the listener attribute's key with underscores.
      const listenerAttrs = Object.keys(v).filter((k) => /^routing_http_(response|request)_/.test(k));
      for (const k of listenerAttrs) {
        const key = k.replace(/^routing_http_(response|request)_/, 'routing.http.$1.').replace(/_(header_value|header_name|enabled)$/, '.$1');
        m.attr(key, v[k]);
      }
      m.prop('ListenerAttributes', m.attributes);
      m.rest(new Set(['load_balancer_arn', 'port', 'protocol', 'ssl_policy', 'alpn_policy', 'certificate_arn', 'default_action', 'mutual_authentication', 'tags', ...listenerAttrs]), {
        tcp_idle_timeout_seconds: 'network load balancers only',
      });
    } else if (type === RULE) {
      const conditions = (v.condition ?? []).map((c: Json) => {
        const values = (b: Json) => ({ ...(first(b).values?.length ? { Values: first(b).values } : {}), ...(first(b).regex_values?.length ? { RegexValues: first(b).regex_values } : {}) });
        if (c.host_header?.length) return { Field: 'host-header', HostHeaderConfig: values(c.host_header) };
        if (c.path_pattern?.length) return { Field: 'path-pattern', PathPatternConfig: values(c.path_pattern) };
        if (c.http_request_method?.length) return { Field: 'http-request-method', HttpRequestMethodConfig: { Values: first(c.http_request_method).values } };
        if (c.http_header?.length) return { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: first(c.http_header).http_header_name, ...values(c.http_header) } };
        if (c.query_string?.length) return { Field: 'query-string', QueryStringConfig: { Values: c.query_string.map((q: Json) => ({ Key: q.key ?? undefined, Value: q.value })) } };
        if (c.source_ip?.length) return { Field: 'source-ip', SourceIpConfig: { Values: first(c.source_ip).values } };
        return { Field: Object.keys(c).find((k) => c[k]?.length) ?? 'unknown' };
      });
      m.prop('ListenerArn', ref(a, 'listener_arn', v.listener_arn));
      m.prop('Priority', v.priority);
      m.prop('Conditions', conditions);
      m.prop('Actions', actions(a, 'action', v.action));
      // transform { type, url_rewrite_config { rewrite { regex, replace } } } → Transforms [{ Type, UrlRewriteConfig: { Rewrites } }].
      const rewrites = (block: Json) => ({ Rewrites: (first(block)?.rewrite ?? []).map((r: Json) => ({ Regex: r.regex, Replace: r.replace })) });
      m.prop(
        'Transforms',
        (v.transform ?? []).map((t: Json) =>
          t.type === 'host-header-rewrite' ? { Type: t.type, HostHeaderRewriteConfig: rewrites(t.host_header_rewrite_config) } : t.type === 'url-rewrite' ? { Type: t.type, UrlRewriteConfig: rewrites(t.url_rewrite_config) } : { Type: t.type },
        ),
      );
      m.rest(new Set(['listener_arn', 'priority', 'condition', 'action', 'transform', 'tags']));
    } else if (type === LISTENER_CERTIFICATE) {
      const cert = ref(a, 'certificate_arn', v.certificate_arn);
      m.prop('ListenerArn', ref(a, 'listener_arn', v.listener_arn));
      m.prop('Certificates', cert ? [{ CertificateArn: cert }] : undefined);
      m.rest(new Set(['listener_arn', 'certificate_arn']));
    } else if (type === TRUST_STORE) {
      // Its CA bundle is in S3 for AWS; locally it is a file given with --trust-store (by this address).
      m.prop('CaCertificatesBundleS3Bucket', v.ca_certificates_bundle_s3_bucket);
      m.prop('CaCertificatesBundleS3Key', v.ca_certificates_bundle_s3_key);
      m.prop('CaCertificatesBundleS3ObjectVersion', v.ca_certificates_bundle_s3_object_version);
      m.prop('Name', v.name);
      m.rest(new Set(['ca_certificates_bundle_s3_bucket', 'ca_certificates_bundle_s3_key', 'ca_certificates_bundle_s3_object_version', 'name', 'name_prefix', 'tags', 'tags_all']));
    } else if (type === TRUST_STORE_REVOCATION) {
      m.prop('TrustStoreArn', ref(a, 'trust_store_arn', v.trust_store_arn));
      m.prop('RevocationContents', [{ S3Bucket: v.revocations_s3_bucket, S3Key: v.revocations_s3_key, S3ObjectVersion: v.revocations_s3_object_version }]);
      m.rest(new Set(['trust_store_arn', 'revocations_s3_bucket', 'revocations_s3_key', 'revocations_s3_object_version']));
    } else {
      // Resource types the reader names as a whole (certificates, trust stores, WAF): their arguments are theirs.
      m.prop('Terraform', v);
    }
    unmapped.push(...m.unmapped);
    resources[a] = { Type: type, Properties: strip(m.props) };
  }
  return { Resources: resources, ...(unmapped.length ? { Metadata: { 'Receipt::Unmapped': unmapped } } : {}) };
}
