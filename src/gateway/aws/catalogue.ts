/**
 * Every setting an Application Load Balancer's template can carry, and what the gateway does with it: the one list
 * that makes "never silently dropped" checkable. A property or attribute the importer meets is looked up here:
 *
 *  - `emulated`: the gateway behaves as ALB does for it (for attributes, maybe only at some values — `at`);
 *  - `aws`: it places or names the load balancer in an AWS account (subnets, tags, S3 buckets) and changes nothing
 *    a client of the local gateway could see: named in one `note:` line at start;
 *  - anything else, and any name not listed here at all: printed as `not emulated:` with its place.
 *
 * The names are those of AWS's CloudFormation reference (AWS::ElasticLoadBalancingV2::* pages) and of the
 * attribute tables on AWS's pages "Load balancer attributes", "Target group attributes" and "Listener attributes"
 * (docs/alb.md links each). A Terraform plan is read into these same names first (terraform.ts).
 */

export type Handling =
  | { kind: 'emulated' }
  /** Emulated at these values only (ALB's default is one of them); any other value is named. */
  | { kind: 'at'; values: readonly string[]; why: string }
  | { kind: 'aws'; why: string }
  | { kind: 'not'; why: string };

const emulated: Handling = { kind: 'emulated' };
const aws = (why: string): Handling => ({ kind: 'aws', why });
const not = (why: string): Handling => ({ kind: 'not', why });
const at = (values: readonly string[], why: string): Handling => ({ kind: 'at', values, why });

export const LB = 'AWS::ElasticLoadBalancingV2::LoadBalancer';
export const LISTENER = 'AWS::ElasticLoadBalancingV2::Listener';
export const RULE = 'AWS::ElasticLoadBalancingV2::ListenerRule';
export const TG = 'AWS::ElasticLoadBalancingV2::TargetGroup';
export const LISTENER_CERTIFICATE = 'AWS::ElasticLoadBalancingV2::ListenerCertificate';
export const TRUST_STORE = 'AWS::ElasticLoadBalancingV2::TrustStore';
export const TRUST_STORE_REVOCATION = 'AWS::ElasticLoadBalancingV2::TrustStoreRevocation';
export const WAF_ASSOCIATION = 'AWS::WAFv2::WebACLAssociation';

/** Resource types that configure a load balancer but that the gateway does not read: each is named at start. */
export const OTHER_TYPES: Record<string, string> = {
  [WAF_ASSOCIATION]: 'WAF (requests are not filtered locally)',
};

/** The properties of each resource type the importer reads (CloudFormation reference, 2026). */
export const PROPERTIES: Record<string, Record<string, Handling>> = {
  [LB]: {
    Type: at(['application'], 'only application load balancers'),
    Name: aws('the load balancer’s name in AWS'),
    Scheme: aws('internet-facing or internal: the local gateway binds HOST'),
    Subnets: aws('the network is the account’s'),
    SubnetMappings: aws('the network is the account’s'),
    SecurityGroups: aws('the network is the account’s'),
    IpAddressType: aws('the network is the account’s'),
    Ipv4IpamPoolId: aws('the network is the account’s'),
    EnablePrefixForIpv6SourceNat: aws('the network is the account’s'),
    EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: aws('the network is the account’s'),
    MinimumLoadBalancerCapacity: aws('capacity reservation'),
    Tags: aws('tags'),
    LoadBalancerAttributes: emulated, // each attribute is looked up in LB_ATTRIBUTES
  },
  [LISTENER]: {
    LoadBalancerArn: emulated,
    Port: emulated,
    Protocol: at(['HTTP', 'HTTPS'], 'only HTTP and HTTPS listeners'),
    // Each action is read where its listener is (cloudformation.ts): forward, redirect, fixed-response, jwt-validation,
    // authenticate-oidc, authenticate-cognito — the last two only on an HTTPS listener, as ALB allows them.
    DefaultActions: emulated,
    // The default certificate: the user's own with `--certificate ARN=cert.pem,key.pem`, else a self-signed stand-in.
    Certificates: emulated,
    // Each name is looked up in AWS's table (tls-policy.ts); an unknown one is named (cloudformation.ts).
    SslPolicy: emulated,
    AlpnPolicy: not('ALPN policies (network load balancers)'),
    // Mode off, verify or passthrough (mtls.ts); the trust store's CA bundle and CRL come from `--trust-store`.
    MutualAuthentication: at(['off', 'verify', 'passthrough'], 'a mutual TLS mode ALB does not have'),
    ListenerAttributes: emulated, // each attribute is looked up in LISTENER_ATTRIBUTES
  },
  [LISTENER_CERTIFICATE]: {
    ListenerArn: emulated,
    Certificates: emulated, // the listener's certificate list, chosen by SNI
  },
  // A trust store is read from S3 in AWS; locally its CA bundle (and revocation list) are files given with
  // `--trust-store ID=ca.pem[,crl.pem]`, by the ARN or logical id the listener's TrustStoreArn names.
  [TRUST_STORE]: {
    CaCertificatesBundleS3Bucket: aws('the CA bundle is read from S3 in AWS: locally from --trust-store'),
    CaCertificatesBundleS3Key: aws('the CA bundle is read from S3 in AWS: locally from --trust-store'),
    CaCertificatesBundleS3ObjectVersion: aws('the CA bundle is read from S3 in AWS: locally from --trust-store'),
    Name: aws('the trust store’s name in AWS'),
    Tags: aws('tags'),
  },
  [TRUST_STORE_REVOCATION]: {
    TrustStoreArn: aws('the revocation list is given locally as --trust-store ID=ca.pem,crl.pem'),
    RevocationContents: aws('revocation lists are read from S3 in AWS: locally the CRL of --trust-store'),
  },
  [RULE]: {
    ListenerArn: emulated,
    Priority: emulated,
    Conditions: emulated,
    Actions: emulated,
    Transforms: emulated,
  },
  [TG]: {
    Name: emulated,
    Protocol: at(['HTTP', 'HTTPS'], 'only HTTP and HTTPS targets'),
    ProtocolVersion: at(['HTTP1'], 'HTTP/2 and gRPC to targets (the gateway speaks HTTP/1.1 to them)'),
    TargetType: at(['ip', 'instance'], 'lambda targets and alb targets (the gateway forwards to ip and instance targets)'),
    Port: aws('the targets’ port: locally they come from --map host:port'),
    Targets: aws('registered targets: locally they come from --map'),
    VpcId: aws('the network is the account’s'),
    IpAddressType: aws('the network is the account’s'),
    Tags: aws('tags'),
    HealthCheckEnabled: emulated,
    HealthCheckPath: emulated,
    HealthCheckIntervalSeconds: emulated,
    HealthCheckTimeoutSeconds: emulated,
    HealthyThresholdCount: emulated,
    UnhealthyThresholdCount: emulated,
    HealthCheckPort: emulated,
    HealthCheckProtocol: at(['HTTP', 'HTTPS'], 'only HTTP and HTTPS health checks'),
    Matcher: emulated, // HttpCode emulated; GrpcCode named (cloudformation.ts)
    TargetGroupAttributes: emulated, // each attribute is looked up in TG_ATTRIBUTES
  },
};

/** Load-balancer attributes (AWS: "Load balancer attributes"), with ALB's default where it has one. */
export const LB_ATTRIBUTES: Record<string, Handling> = {
  'idle_timeout.timeout_seconds': emulated,
  'routing.http.desync_mitigation_mode': emulated,
  'client_keep_alive.seconds': emulated,
  'routing.http2.enabled': emulated,
  'routing.http.drop_invalid_header_fields.enabled': emulated,
  'routing.http.preserve_host_header.enabled': emulated,
  'routing.http.x_amzn_tls_version_and_cipher_suite.enabled': emulated,
  'routing.http.xff_client_port.enabled': emulated,
  'routing.http.xff_header_processing.mode': at(['append', 'preserve', 'remove'], 'an X-Forwarded-For mode ALB does not have'),
  'waf.fail_open.enabled': aws('WAF is not emulated'),
  'deletion_protection.enabled': aws('deletion protection'),
  'load_balancing.cross_zone.enabled': aws('there are no zones locally'),
  'zonal_shift.config.enabled': aws('there are no zones locally'),
  'ipv6.deny_all_igw_traffic': aws('the network is the account’s'),
  'access_logs.s3.enabled': aws('the access log goes to DATA_DIR/access.log locally'),
  'access_logs.s3.bucket': aws('the access log goes to DATA_DIR/access.log locally'),
  'access_logs.s3.prefix': aws('the access log goes to DATA_DIR/access.log locally'),
  'connection_logs.s3.enabled': aws('the connection log goes to DATA_DIR/connection.log locally'),
  'connection_logs.s3.bucket': aws('the connection log goes to DATA_DIR/connection.log locally'),
  'connection_logs.s3.prefix': aws('the connection log goes to DATA_DIR/connection.log locally'),
  'health_check_logs.s3.enabled': at(['false'], 'health-check logs'),
  'health_check_logs.s3.bucket': aws('health-check logs are not written locally'),
  'health_check_logs.s3.prefix': aws('health-check logs are not written locally'),
};

/** Target-group attributes (AWS: "Target group attributes"). Stickiness keys matter only when it is enabled. */
export const TG_ATTRIBUTES: Record<string, Handling> = {
  'deregistration_delay.timeout_seconds': emulated,
  'load_balancing.algorithm.type': at(['round_robin', 'least_outstanding_requests', 'weighted_random'], 'an algorithm ALB does not have'),
  'load_balancing.algorithm.anomaly_mitigation': at(['off'], 'anomaly mitigation'),
  'slow_start.duration_seconds': emulated,
  'stickiness.enabled': emulated,
  'stickiness.type': at(['lb_cookie', 'app_cookie'], 'a stickiness type ALB does not have (source_ip is for network load balancers)'),
  'stickiness.lb_cookie.duration_seconds': emulated,
  'stickiness.app_cookie.cookie_name': emulated,
  'stickiness.app_cookie.duration_seconds': emulated,
  'load_balancing.cross_zone.enabled': aws('there are no zones locally'),
  'target_group_health.dns_failover.minimum_healthy_targets.count': aws('DNS failover between zones'),
  'target_group_health.dns_failover.minimum_healthy_targets.percentage': aws('DNS failover between zones'),
  // 1 healthy target (ALB's default) is the fail-open rule the gateway follows: with none healthy, all get traffic.
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count': at(['1'], 'unhealthy-state routing thresholds'),
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage': at(['off'], 'unhealthy-state routing thresholds'),
  'lambda.multi_value_headers.enabled': not('Lambda targets'),
};

/** Listener attributes of HTTP and HTTPS listeners (AWS: "Listener attributes", header modification). */
export const LISTENER_ATTRIBUTES: Record<string, Handling> = {
  'routing.http.response.server.enabled': emulated,
  'routing.http.response.strict_transport_security.header_value': emulated,
  'routing.http.response.access_control_allow_origin.header_value': emulated,
  'routing.http.response.access_control_allow_methods.header_value': emulated,
  'routing.http.response.access_control_allow_headers.header_value': emulated,
  'routing.http.response.access_control_allow_credentials.header_value': emulated,
  'routing.http.response.access_control_expose_headers.header_value': emulated,
  'routing.http.response.access_control_max_age.header_value': emulated,
  'routing.http.response.content_security_policy.header_value': emulated,
  'routing.http.response.x_content_type_options.header_value': emulated,
  'routing.http.response.x_frame_options.header_value': emulated,
  'routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name': not('renaming the mutual TLS headers'),
  'routing.http.request.x_amzn_mtls_clientcert_issuer.header_name': not('renaming the mutual TLS headers'),
  'routing.http.request.x_amzn_mtls_clientcert_subject.header_name': not('renaming the mutual TLS headers'),
  'routing.http.request.x_amzn_mtls_clientcert_validity.header_name': not('renaming the mutual TLS headers'),
  'routing.http.request.x_amzn_mtls_clientcert_leaf.header_name': not('renaming the mutual TLS headers'),
  'routing.http.request.x_amzn_mtls_clientcert.header_name': not('renaming the mutual TLS headers'),
  'routing.http.request.x_amzn_tls_version.header_name': not('renaming the TLS headers'),
  'routing.http.request.x_amzn_tls_cipher_suite.header_name': not('renaming the TLS headers'),
};

/** What one setting's handling says at a value: nothing (emulated), a note, or a `not emulated` line. */
export function judge(h: Handling | undefined, value: unknown): { kind: 'emulated' } | { kind: 'aws' | 'not'; why: string } {
  if (!h) return { kind: 'not', why: 'a setting this gateway does not know' };
  if (h.kind === 'at') return h.values.includes(String(value)) ? { kind: 'emulated' } : { kind: 'not', why: h.why };
  return h;
}
