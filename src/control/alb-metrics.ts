/**
 * The gateway's metrics as ALB publishes them in CloudWatch (namespace AWS/ApplicationELB,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html),
 * in Prometheus form: each name is the CloudWatch name in snake case with a `receipt_alb_` prefix, counters ending
 * in `_total`. Counted when AWS says each is counted — who is responsible, by first digit and by who answered, in numbers
 * (docs/status-codes.md, "The first digit says who is responsible"):
 *
 *  - HTTPCode_ELB_* counts answers the load balancer made itself (no target answered): a 502 for a refused target is
 *    an ELB 5xx and never a target 5xx; a 460 (the client left) is an ELB 4xx.
 *  - HTTPCode_Target_* counts the statuses targets sent, whatever the load balancer did after.
 *  - RequestCount counts only requests for which a target was chosen.
 *  - TargetConnectionErrorCount counts connections to a target that could not be made (refused, timed out,
 *    unreachable).
 *  - ELBAuthSuccess counts sign-ins completed (the callback that got the user's claims); ELBAuthFailure those the
 *    provider refused (the user denied, a code used twice); ELBAuthError those the load balancer could not complete
 *    (the provider unreachable or slow, an error of its own); ELBAuthUserClaimsSizeExceeded claims over 11 KB.
 *
 * docs/observability.md has the table of names.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../server/metrics.ts';
import type { AccessRecord } from '../gateway/access-log.ts';
import type { Gateway } from '../gateway/gateway.ts';

const CONNECTION_ERRORS = new Set(['TargetConnectionRefused', 'TargetConnectTimeout', 'TargetUnreachable']);
const ELB_SPECIFIC = new Set([500, 502, 503, 504]);
/** Sign-ins the provider refused (AWS: "the IdP denied access to the user or an authorization code was used more than once"). */
const AUTH_FAILURES = new Set(['AuthIdpError', 'AuthInvalidGrantError']);
/** The sign-in callback's request line: `GET https://host/oauth2/idpresponse?… HTTP/1.1`. */
const AUTH_CALLBACK = /^\S+ [a-z]+:\/\/[^/\s]+\/oauth2\/idpresponse[?\s]/;

type Labels = Record<string, string>;

export class AlbMetrics {
  // Updated on every request: the fast kinds (src/server/metrics.ts).
  readonly #counters = new Map<string, FastCounter>();
  readonly #responseTime: FastHistogram<'target_group'>;
  readonly #nonCompliant: Counter<'classification' | 'classification_reason'>;

  constructor(registry: Registry, gateway: Gateway) {
    const counter = (name: string, help: string, labelNames: string[] = []) => {
      const c = new FastCounter({ name: `receipt_alb_${name}_total`, help, labelNames, registers: [registry] });
      this.#counters.set(name, c);
      return c;
    };
    counter('request_count', 'Requests for which a target was chosen (RequestCount)', ['target_group']);
    for (const c of ['3xx', '4xx', '5xx', '500', '502', '503', '504']) counter(`httpcode_elb_${c}`, `${c.toUpperCase()} answers the load balancer made itself (HTTPCode_ELB_${c.toUpperCase()}_Count)`);
    for (const c of ['2xx', '3xx', '4xx', '5xx']) counter(`httpcode_target_${c}`, `${c.toUpperCase()} answers from targets (HTTPCode_Target_${c.toUpperCase()}_Count)`, ['target_group']);
    counter('target_connection_error_count', 'Connections to a target that could not be made (TargetConnectionErrorCount)', ['target_group']);
    counter('processed_bytes', 'Bytes received from and sent to clients, headers included (ProcessedBytes)');
    counter('http_fixed_response_count', 'Fixed-response actions that ran (HTTP_Fixed_Response_Count)');
    counter('http_redirect_count', 'Redirect actions that ran (HTTP_Redirect_Count)');
    counter('elb_auth_success', 'Sign-ins completed, the user claims retrieved from the provider (ELBAuthSuccess)');
    counter('elb_auth_failure', 'Sign-ins the provider refused: access denied, or a code used twice (ELBAuthFailure)');
    counter('elb_auth_error', 'Sign-ins the load balancer could not complete: the provider unreachable or slow, or an error of its own (ELBAuthError)');
    counter('elb_auth_user_claims_size_exceeded', 'User claims from the provider over 11 KB (ELBAuthUserClaimsSizeExceeded)');
    this.#responseTime = new FastHistogram({
      name: 'receipt_alb_target_response_time_seconds',
      help: 'From the request leaving the load balancer to the target’s response head (TargetResponseTime)',
      labelNames: ['target_group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.#nonCompliant = new Counter({
      name: 'receipt_alb_desync_mitigation_mode_non_compliant_request_count_total',
      help: 'Requests classified Acceptable, Ambiguous or Severe by desync mitigation, in every mode (DesyncMitigationMode_NonCompliant_Request_Count)',
      labelNames: ['classification', 'classification_reason'],
      registers: [registry],
    });

    const groups = () => [...gateway.groups.values()];
    new Gauge({
      name: 'receipt_alb_healthy_host_count',
      help: 'Targets in the healthy state, per target group (HealthyHostCount)',
      labelNames: ['target_group'],
      registers: [registry],
      collect() {
        for (const g of groups()) this.set({ target_group: g.name }, g.targets.filter((t) => t.state === 'healthy').length);
      },
    });
    new Gauge({
      name: 'receipt_alb_un_healthy_host_count',
      help: 'Targets in the unhealthy state, per target group (UnHealthyHostCount)',
      labelNames: ['target_group'],
      registers: [registry],
      collect() {
        for (const g of groups()) this.set({ target_group: g.name }, g.targets.filter((t) => t.state === 'unhealthy').length);
      },
    });
    const conns = gateway.connections;
    new Gauge({
      name: 'receipt_alb_active_connection_count',
      help: 'Open TCP connections from clients to the load balancer and from it to targets (ActiveConnectionCount)',
      registers: [registry],
      collect() {
        this.set(conns.clients.open + conns.targets.open);
      },
    });
    // Counts kept by the gateway as plain numbers; each scrape adds what happened since the last one.
    const mirror = (name: string, help: string, read: () => number) => {
      let seen = 0;
      new Counter({
        name: `receipt_alb_${name}_total`,
        help,
        registers: [registry],
        collect() {
          const now = read();
          if (now > seen) this.inc(now - seen);
          seen = now;
        },
      });
    };
    mirror('new_connection_count', 'TCP connections opened from clients to the load balancer and from it to targets (NewConnectionCount)', () => conns.clients.opened + conns.targets.opened);
    mirror('client_tls_negotiation_error_count', 'Client connections whose TLS handshake failed (ClientTLSNegotiationErrorCount)', () => conns.tlsNegotiationErrors);
    // The gateway sets no connection limit of its own, so it rejects none; the series exists so dashboards and alerts
    // written for ALB find it.
    mirror('rejected_connection_count', 'Connections refused because the load balancer was at its limit (RejectedConnectionCount)', () => 0);
  }

  // Each counter has at most a target group for label, which is also the key of its series.
  #inc(name: string, labels?: Labels, by = 1): void {
    this.#counters.get(name)!.inc(labels ?? {}, by, labels?.target_group ?? '');
  }

  #signIn(r: AccessRecord): void {
    const reason = r.errorReason;
    if (reason === 'AuthUserinfoResponseSizeExceeded') this.#inc('elb_auth_user_claims_size_exceeded');
    else if (reason !== undefined && AUTH_FAILURES.has(reason)) this.#inc('elb_auth_failure');
    else if (reason?.startsWith('Auth') && r.elbStatusCode === 500) this.#inc('elb_auth_error');
    else if (reason === undefined && r.elbStatusCode === 302 && AUTH_CALLBACK.test(r.request)) this.#inc('elb_auth_success');
  }

  record(r: AccessRecord): void {
    const group = r.targetGroup === '-' ? undefined : r.targetGroup.replace(/^targetgroup\//, '');
    this.#inc('processed_bytes', undefined, r.receivedBytes + r.sentBytes);
    if (r.actionsExecuted.includes('fixed-response')) this.#inc('http_fixed_response_count');
    if (r.actionsExecuted.includes('redirect')) this.#inc('http_redirect_count');
    if (r.actionsExecuted[0] === 'authenticate') this.#signIn(r);
    if (r.target !== undefined && group) this.#inc('request_count', { target_group: group });
    if (r.errorReason && CONNECTION_ERRORS.has(r.errorReason) && group) this.#inc('target_connection_error_count', { target_group: group });
    if (r.classification) this.#nonCompliant.inc({ classification: r.classification, classification_reason: r.classificationReason ?? '-' });

    if (r.targetStatusCode !== undefined) {
      // The target answered: its status is the target's, whatever the gateway did with the answer after.
      const cls = Math.floor(r.targetStatusCode / 100);
      if (cls >= 2 && cls <= 5 && group) this.#inc(`httpcode_target_${cls}xx`, { target_group: group });
      if (group && r.targetProcessingTime >= 0) this.#responseTime.observe({ target_group: group }, r.targetProcessingTime, group);
      return;
    }
    // No target answered: whatever was sent, the load balancer made it.
    const cls = Math.floor(r.elbStatusCode / 100);
    if (cls >= 3 && cls <= 5) this.#inc(`httpcode_elb_${cls}xx`);
    if (ELB_SPECIFIC.has(r.elbStatusCode)) this.#inc(`httpcode_elb_${r.elbStatusCode}`);
  }
}
