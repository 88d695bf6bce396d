/**
 * `receipt gateway`: the gateway alone, in front of HTTP servers the user names — no database, no shop — with its
 * health checks, access log, metrics and control plane. The configuration is a gateway JSON file, or is built from
 * `--target name=host:port` flags (one target group per name; the first name is the default action).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DashboardFeed } from '../control/dashboard-feed.ts';
import { GatewayMetrics } from '../control/metrics.ts';
import { buildControl } from '../control/server.ts';
import { removeControlFile, writeControlFile } from '../control/control-file.ts';
import { AccessLog } from '../gateway/access-log.ts';
import { ConnectionLog } from '../gateway/connection-log.ts';
import { GatewayConfigError, validateGatewayConfig, type GatewayConfig } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { loadOrCreateCertificate } from '../gateway/tls.ts';
import type { KeyPair } from '../gateway/tls-policy.ts';
import type { TrustStoreMaterial } from '../gateway/mtls.ts';
import { createLogger } from '../log.ts';
import type { LiveLog } from './live-log.ts';

export interface TargetFlag {
  group: string;
  host: string;
  port: number;
}

/** `api=127.0.0.1:3000` → a target of group `api`. */
export function parseTargetFlag(value: string): TargetFlag {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]{0,31})=([^:\s]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) {
    throw new GatewayConfigError(`--target ${value}: expected name=host:port, e.g. api=127.0.0.1:3000`);
  }
  return { group: m[1]!, host: m[2]!, port: Number(m[3]) };
}

/** A configuration from `--target` flags: an HTTP listener (and HTTPS when asked), each name a target group. */
export function configFromTargets(
  targets: TargetFlag[],
  o: { port: number; httpsPort?: number; healthPath: string; idleTimeoutMs: number; desyncMitigationMode?: GatewayConfig['desyncMitigationMode'] },
): GatewayConfig {
  if (targets.length === 0) throw new GatewayConfigError('name at least one --target name=host:port, or a --config file');
  const names = [...new Set(targets.map((t) => t.group))];
  const forward = { type: 'forward' as const, targetGroups: [{ name: names[0]! }] };
  return validateGatewayConfig(
    {
      idleTimeoutMs: o.idleTimeoutMs,
      ...(o.desyncMitigationMode ? { desyncMitigationMode: o.desyncMitigationMode } : {}),
      listeners: [
        { protocol: 'HTTP', port: o.port, defaultActions: [forward] },
        ...(o.httpsPort !== undefined ? [{ protocol: 'HTTPS' as const, port: o.httpsPort, defaultActions: [forward] }] : []),
      ],
      // Health checks every 5 s (ALB's shortest), so a stopped server is noticed while you watch.
      targetGroups: names.map((name) => ({
        name,
        healthCheck: { path: o.healthPath, intervalMs: 5_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200-399' },
        deregistrationDelayMs: 30_000,
        targets: targets.filter((t) => t.group === name).map((t) => ({ id: `${t.host}:${t.port}`, host: t.host, port: t.port })),
      })),
    },
    '--target flags',
  );
}

export interface GatewayOnly {
  gateway: Gateway;
  urls: string[];
  controlUrl: string;
  controlToken: string;
  controlTokenGenerated: boolean;
  accessLogFile: string;
  /** ALB's connection log: one line per client connection (gateway/connection-log.ts). */
  connectionLogFile: string;
  stop(): Promise<void>;
}

export async function startGatewayOnly(o: {
  config: GatewayConfig;
  host: string;
  dataDir: string;
  controlPort: number;
  controlToken?: string | undefined;
  accessLogJson?: boolean;
  logLevel: string;
  /** The terminal's log: every request and health-state change, and the control plane's lines. */
  live?: LiveLog;
  /** The user's own certificate and key for each certificate ARN (`--certificate`); others get the self-signed one. */
  certificates?: Record<string, KeyPair>;
  /** Each mutual-TLS trust store's CA bundle and revocation list, by ARN (`--trust-store`). */
  trustStores?: Record<string, TrustStoreMaterial>;
  /** Receipt's additions to ALB's bytes (`--receipt-extras`); off by default, so your app sees what ALB sends. */
  receiptExtras?: boolean;
  /** Where x-amzn-oidc-data's public key is served (`--public-key-port`); a free port when absent. */
  publicKeyPort?: number;
}): Promise<GatewayOnly> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const accessLogFile = path.join(o.dataDir, 'access.log');
  const connectionLogFile = path.join(o.dataDir, 'connection.log');
  const needsTls = o.config.listeners.some((l) => l.protocol === 'HTTPS');
  const metricsRef: { current?: GatewayMetrics; feed?: DashboardFeed } = {};
  const gateway = new Gateway({
    config: o.config,
    host: o.host,
    ...(needsTls ? { tls: { ...(await loadOrCreateCertificate(o.dataDir)), byArn: o.certificates ?? {}, trustStores: o.trustStores ?? {} } } : {}),
    accessLog: new AccessLog({ file: accessLogFile, json: o.accessLogJson ?? false }),
    connectionLog: new ConnectionLog({ file: connectionLogFile }),
    receiptExtras: o.receiptExtras ?? false,
    ...(o.publicKeyPort !== undefined ? { auth: { publicKeyPort: o.publicKeyPort } } : {}),
    onRecord: (r) => {
      metricsRef.current?.record(r);
      metricsRef.feed?.record(r);
      o.live?.access(r);
    },
  });
  o.live?.attach(gateway);
  const metrics = (metricsRef.current = new GatewayMetrics(gateway));
  await gateway.listen();
  const controlToken = o.controlToken ?? crypto.randomBytes(18).toString('base64url');
  const feed = (metricsRef.feed = new DashboardFeed(gateway, controlToken));
  const control = await buildControl(
    { token: controlToken, gateway, metrics, feed, targets: new Map(), ready: () => true },
    createLogger(o.logLevel === 'info' ? 'warn' : o.logLevel, 'control', o.live?.destination('control')),
  );
  try {
    await control.listen({ host: o.host, port: o.controlPort });
  } catch (e) {
    await gateway.close(0);
    throw e;
  }
  const controlPort = (control.server.address() as { port: number }).port;
  // Where a second terminal's `receipt targets`, `drain`… find the control plane (control-file.ts).
  writeControlFile(o.dataDir, { url: `http://${o.host}:${controlPort}`, token: controlToken, kind: 'gateway' });
  return {
    gateway,
    urls: o.config.listeners.map((l, i) => `${l.protocol.toLowerCase()}://${o.host}:${gateway.ports[i]}`),
    controlUrl: `http://${o.host}:${controlPort}`,
    controlToken,
    controlTokenGenerated: o.controlToken === undefined,
    accessLogFile,
    connectionLogFile,
    async stop() {
      removeControlFile(o.dataDir);
      await control.close();
      await gateway.close();
    },
  };
}
