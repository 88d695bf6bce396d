/** A gateway built in-process on loopback, with its access-log lines collected for assertions. */
import { AccessLog, FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';
import { ConnectionLog } from '../../src/gateway/connection-log.ts';
import { validateGatewayConfig, type GatewayConfig } from '../../src/gateway/config.ts';
import { Gateway, type GatewayOptions } from '../../src/gateway/gateway.ts';
import type { TlsMaterial } from '../../src/gateway/tls-policy.ts';

/** `receiptExtras`: Receipt's additions to ALB's bytes, as `receipt start` runs the gateway; off (ALB's bytes) by default. */
export async function gatewayUnderTest(config: GatewayConfig, tls?: TlsMaterial, o: { receiptExtras?: boolean; auth?: GatewayOptions['auth']; onRecord?: GatewayOptions['onRecord'] } = {}) {
  const lines: string[] = [];
  const accessLog = new AccessLog({});
  accessLog.onLine((line) => lines.push(line));
  const connections: string[] = [];
  const connectionLog = new ConnectionLog({});
  connectionLog.onLine((line) => connections.push(line));
  const gateway = new Gateway({
    config: validateGatewayConfig(config),
    host: '127.0.0.1',
    accessLog,
    connectionLog,
    ...(tls ? { tls } : {}),
    ...(o.receiptExtras ? { receiptExtras: true } : {}),
    ...(o.auth ? { auth: o.auth } : {}),
    ...(o.onRecord ? { onRecord: o.onRecord } : {}),
  });
  await gateway.listen();
  const port = gateway.listener('http')!.port;
  return {
    gateway,
    lines,
    /** The connection-log lines (connection-log.ts), one per client connection. */
    connections,
    url: `http://127.0.0.1:${port}`,
    port,
    /** The access-log line for the request whose path is `path` (the newest one). */
    async logFor(path: string): Promise<Record<keyof typeof FIELD, string>> {
      for (let i = 0; i < 100; i++) {
        const line = [...lines].reverse().find((l) => parseAccessLine(l)[FIELD.request]!.split(' ')[1]!.endsWith(path));
        if (line) {
          const f = parseAccessLine(line);
          return Object.fromEntries(Object.entries(FIELD).map(([k, i]) => [k, f[i]!])) as Record<keyof typeof FIELD, string>;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no access-log line for ${path}`);
    },
    close: () => gateway.close(),
  };
}
