/**
 * ALB's numbers, in one place: the defaults a configuration may leave out (each from AWS's documentation of the
 * attribute) and the limits ALB enforces on every request ("Quotas for your Application Load Balancers"). A
 * configuration is normalised once, here, so no other file carries a default of its own.
 */
import type { GatewayConfig, TargetGroupSpec } from './config.ts';
import { ALB_HEADER_ATTRIBUTES, type HeaderAttributes } from './headers.ts';

export const ALB_DEFAULTS = {
  /** Load-balancer attribute `idle_timeout.timeout_seconds`: 60. */
  idleTimeoutMs: 60_000,
  /** Load-balancer attribute `client_keep_alive.seconds`: 3600 — how long a client connection may be reused. */
  clientKeepAliveMs: 3_600_000,
  /** ALB gives up connecting to a target after 10 s (504, TargetConnectTimeout in failures.ts). */
  connectTimeoutMs: 10_000,
  /** `routing.http.desync_mitigation_mode`: defensive. */
  desyncMitigationMode: 'defensive',
  /** Target group attributes: `load_balancing.algorithm.type` round_robin, `deregistration_delay.timeout_seconds` 300. */
  algorithm: 'round_robin',
  deregistrationDelayMs: 300_000,
  /** Health checks: path /, every 30 s, 5 s timeout, 5 to become healthy, 2 to become unhealthy, matcher 200. */
  healthCheck: { path: '/', intervalMs: 30_000, timeoutMs: 5_000, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' },
} as const;

export const ALB_LIMITS = {
  /** Request line 16 K, one header field 16 K, all header fields 64 K. */
  requestLineBytes: 16 * 1024,
  headerBytes: 16 * 1024,
  headersBytes: 64 * 1024,
  /** Addresses in X-Forwarded-For before ALB answers 463. */
  forwardedFor: 30,
  /** HTTP/2: 128 concurrent streams; GOAWAY after 10,000 requests on one connection. */
  h2MaxStreams: 128,
  h2MaxRequests: 10_000,
  /** A target's response header section. */
  responseHeaderBytes: 32 * 1024,
} as const;

export type NormalizedTargetGroup = Required<Omit<TargetGroupSpec, 'healthCheck' | 'targets' | 'stickiness'>> & {
  stickiness: TargetGroupSpec['stickiness'];
  healthCheck: Required<NonNullable<TargetGroupSpec['healthCheck']>>;
  targets: NonNullable<TargetGroupSpec['targets']>;
};

export type NormalizedGatewayConfig = Omit<GatewayConfig, 'idleTimeoutMs' | 'clientKeepAliveMs' | 'connectTimeoutMs' | 'desyncMitigationMode' | 'targetGroups' | keyof HeaderAttributes> & {
  /** The request-header attributes, ALB's defaults filled in. */
  headerAttributes: HeaderAttributes;
  idleTimeoutMs: number;
  clientKeepAliveMs: number;
  connectTimeoutMs: number;
  desyncMitigationMode: NonNullable<GatewayConfig['desyncMitigationMode']>;
  targetGroups: NormalizedTargetGroup[];
};

/** Every default filled in. */
export function normalizeGatewayConfig(c: GatewayConfig): NormalizedGatewayConfig {
  return {
    ...c,
    idleTimeoutMs: c.idleTimeoutMs ?? ALB_DEFAULTS.idleTimeoutMs,
    clientKeepAliveMs: c.clientKeepAliveMs ?? ALB_DEFAULTS.clientKeepAliveMs,
    connectTimeoutMs: c.connectTimeoutMs ?? ALB_DEFAULTS.connectTimeoutMs,
    desyncMitigationMode: c.desyncMitigationMode ?? ALB_DEFAULTS.desyncMitigationMode,
    headerAttributes: {
      xffHeaderProcessingMode: c.xffHeaderProcessingMode ?? ALB_HEADER_ATTRIBUTES.xffHeaderProcessingMode,
      xffClientPort: c.xffClientPort ?? ALB_HEADER_ATTRIBUTES.xffClientPort,
      preserveHostHeader: c.preserveHostHeader ?? ALB_HEADER_ATTRIBUTES.preserveHostHeader,
      dropInvalidHeaderFields: c.dropInvalidHeaderFields ?? ALB_HEADER_ATTRIBUTES.dropInvalidHeaderFields,
      tlsVersionAndCipherSuiteHeaders: c.tlsVersionAndCipherSuiteHeaders ?? ALB_HEADER_ATTRIBUTES.tlsVersionAndCipherSuiteHeaders,
    },
    targetGroups: c.targetGroups.map((g) => ({
      name: g.name,
      protocol: g.protocol ?? 'HTTP',
      algorithm: g.algorithm ?? ALB_DEFAULTS.algorithm,
      slowStartMs: g.slowStartMs ?? 0,
      stickiness: g.stickiness,
      deregistrationDelayMs: g.deregistrationDelayMs ?? ALB_DEFAULTS.deregistrationDelayMs,
      // A health check speaks the group's protocol unless it says otherwise (AWS: HealthCheckProtocol's default).
      healthCheck: { ...ALB_DEFAULTS.healthCheck, enabled: true, port: 'traffic-port', protocol: g.protocol ?? 'HTTP', ...g.healthCheck },
      targets: g.targets ?? [],
    })),
  };
}
