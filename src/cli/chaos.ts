/** `receipt chaos`: starts a system in a temporary folder, runs the chaos, prints the books, exit code. */
import { ConfigError } from '../config.ts';
import { defaultGatewayConfig } from '../gateway/config.ts';
import { runChaos } from '../scenarios/chaos.ts';
import { withThrowawaySystem } from '../system/throwaway.ts';
import type { Style } from './style.ts';


export async function runChaosCommand(opts: Record<string, string | boolean | undefined>, style: Style): Promise<number> {
  const num = (name: string, max: number) => {
    const v = Number(opts[name]);
    if (!Number.isInteger(v) || v < 1 || v > max) throw new ConfigError(`--${name} must be an integer from 1 to ${max}`);
    return v;
  };
  const orders = num('orders', 10_000);
  const concurrency = num('concurrency', 64);
  const seconds = num('seconds', 3600);
  process.stderr.write(style.dim('… starting the system for the chaos run (a temporary DATA_DIR)\n'));
  const env = {
    TARGETS: '2',
    GATEWAY_IDLE_TIMEOUT_MS: '2000',
    PAYMENT_TIMEOUT_MS: '5000',
    DB_ACQUIRE_TIMEOUT_MS: '500',
    RETRY_AFTER_S: '1',
    RATE_LIMIT: '10000000',
    // The breaker half-opens soon, so the run sees it open, half-open and closed again many times.
    PAYMENT_BREAKER_HALF_OPEN_MS: '2000',
  };
  // Health checks a few times a second, so a killed target leaves the rotation quickly.
  const gatewayConfig = (ports: { http: number; https: number }) => {
    const c = defaultGatewayConfig(ports, Number(env.GATEWAY_IDLE_TIMEOUT_MS));
    c.targetGroups[0]!.healthCheck = { path: '/healthz', intervalMs: 250, timeoutMs: 200, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' };
    // A deployment's drain waits at most this long for a target's last requests.
    c.targetGroups[0]!.deregistrationDelayMs = 5000;
    return c;
  };
  return withThrowawaySystem('chaos', env, { gatewayConfig }, async (system, config) => {
    const report = await runChaos({
      url: system.url,
      controlUrl: system.controlUrl,
      controlToken: system.controlToken,
      databaseUrl: system.databaseUrl,
      idleTimeoutMs: config.gatewayIdleTimeoutMs,
      orders,
      concurrency,
      seconds,
      onProgress: (d, n, fault) => {
        const line = `[${d}/${n}] orders placed — fault now: ${fault}`;
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${style.dim(line)}`);
        else if (d % Math.max(10, Math.round(n / 20)) === 0 || d === n) process.stderr.write(line + '\n');
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const bad = report.duplicates + report.charges_without_an_order + report.orders_without_a_charge + report.without_a_definite_outcome;
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(
        [
          `chaos: ${orders} orders, ${concurrency} at a time, in ${report.seconds} s (${report.requests_sent} requests) while these faults came and went:`,
          `  ${[...new Set(report.faults)].join(' · ')} (${report.faults.length} episodes)`,
          `  ${report.async_orders} of the orders placed with Prefer: respond-async (202, paid by a worker)`,
          '',
          `  orders made                      ${report.orders_made}`,
          `  duplicates                       ${report.duplicates}`,
          `  charges without an order         ${report.charges_without_an_order}`,
          `  orders without a charge          ${report.orders_without_a_charge}`,
          `  without a definite outcome       ${report.without_a_definite_outcome}`,
          '',
          bad === 0 ? 'every order made once, charged once' : style.bold('THE BOOKS DO NOT BALANCE'),
        ].join('\n'),
      );
    }
    return bad === 0 && report.orders_made === orders ? 0 : 1;
  });
}
