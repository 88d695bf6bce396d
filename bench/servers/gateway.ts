/**
 * Bench: the gateway alone, with everything on that runs in production — the access log to a file, metrics
 * (every record counted), the dashboard's feed, rules, trace ids, health checks — in front of TARGET_PORT.
 */
import os from 'node:os';
import path from 'node:path';
import { DashboardFeed } from '../../src/control/dashboard-feed.ts';
import { GatewayMetrics } from '../../src/control/metrics.ts';
import { AccessLog } from '../../src/gateway/access-log.ts';
import { defaultGatewayConfig, validateGatewayConfig } from '../../src/gateway/config.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import './ready.ts';

const config = defaultGatewayConfig({ http: 0, https: 0 }, 60_000);
config.listeners = config.listeners.filter((l) => l.protocol === 'HTTP');
const metrics: { current?: GatewayMetrics; feed?: DashboardFeed } = {};
const gateway = new Gateway({
  config: validateGatewayConfig(config),
  host: '127.0.0.1',
  accessLog: new AccessLog({ file: path.join(os.tmpdir(), `receipt-bench-access-${process.pid}.log`) }),
  onRecord: (r) => {
    metrics.current?.record(r);
    metrics.feed?.record(r);
  },
});
metrics.current = new GatewayMetrics(gateway);
metrics.feed = new DashboardFeed(gateway, 'bench');
await gateway.listen();
gateway.group('shop').register('target', '127.0.0.1', Number(process.env.TARGET_PORT));
process.send?.({ port: gateway.ports[0], pid: process.pid });
