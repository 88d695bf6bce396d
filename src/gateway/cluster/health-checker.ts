/**
 * Health checks as ALB sends them (AWS, "Health checks for your target groups"): every interval, a fresh connection
 * to the target's traffic port or the group's health-check port, over HTTP or HTTPS, `GET path` with ALB's
 * User-Agent, closed after each check; the status judged by the matcher. The request goes through the same client
 * as forwarded requests (upstream.ts), so a check sees a target exactly as traffic does. What a result does to the
 * target's state is health.ts's pure transition; this file only sends checks and reports results.
 */
import { Upstream } from '../upstream.ts';
import type { CheckResult } from './health.ts';

export interface HealthCheckConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** ALB's matcher: `200`, `200,202`, `200-299`. */
  matcher: string;
  /** Off: targets are `unavailable` and still get traffic. */
  enabled: boolean;
  /** The target's own port (`traffic-port`, ALB's default) or another. */
  port: 'traffic-port' | number;
  protocol: 'HTTP' | 'HTTPS';
}

/** The matcher compiled once: `200,202` or `200-299`. */
export function compileMatcher(matcher: string): (status: number) => boolean {
  const parts = matcher.split(',').map((p) => p.trim());
  const tests = parts.map((p) => {
    const range = /^(\d{3})-(\d{3})$/.exec(p);
    if (range) return (s: number) => s >= Number(range[1]) && s <= Number(range[2]);
    if (!/^\d{3}$/.test(p)) throw new Error(`matcher "${matcher}": "${p}" is neither a code nor a range`);
    return (s: number) => s === Number(p);
  });
  return (s) => tests.some((t) => t(s));
}

/**
 * One check of `host:port`: the status of the answer's head, or what stopped it (`timeout` when the connection or
 * the answer stalled for the check's timeout). The connection is closed as soon as the head is read.
 */
export function runHealthCheck(host: string, trafficPort: number, hc: Pick<HealthCheckConfig, 'path' | 'timeoutMs' | 'port' | 'protocol'>, maxResponseHeaderBytes: number): Promise<CheckResult> {
  const port = hc.port === 'traffic-port' ? trafficPort : hc.port;
  // The timeout is the client's own: connecting, then no byte from the target for that long (a slow answer that
  // keeps arriving is not a dead target).
  const upstream = new Upstream({ host, port, connectTimeoutMs: hc.timeoutMs, idleTimeoutMs: hc.timeoutMs, maxResponseHeaderBytes, maxConnections: 1, tls: hc.protocol === 'HTTPS' });
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    const finish = (r: CheckResult) => {
      if (done) return;
      done = true;
      resolve(r);
      // After the head, the rest of the answer is not wanted: the connection closes (as ALB closes it).
      queueMicrotask(() => {
        exchange.destroy(Object.assign(new Error('health check done'), { code: 'HEALTH_CHECK_DONE' }));
        upstream.destroy();
      });
    };
    const head = `GET ${hc.path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nConnection: close\r\n\r\n`;
    const exchange = upstream.request(
      head,
      { chunked: false, headRequest: false, close: true },
      {
        informational() {},
        head: (status) => finish({ status }),
        body() {},
        end() {},
        error: (err) => finish({ error: /TIMEOUT/.test(err.code ?? '') ? 'timeout' : (err.code ?? err.message) }),
      },
    );
    exchange.end();
  });
}
