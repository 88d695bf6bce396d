/**
 * Upgrades. ALB passes WebSocket upgrades to the target and, once the target answers 101, carries bytes both ways
 * until either side closes or the idle timeout passes with no byte in either direction; rules no longer apply to
 * that connection (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html).
 * Any other upgrade (`h2c`, …) is ignored, which RFC 9110 §7.8 allows: the connection handler serves the request as
 * plain HTTP/1.1 (listener/connection.ts), and `Upgrade` goes no further (hop-by-hop, headers.ts).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { connectionTokens } from './headers.ts';
import type { Target } from './cluster/target-group.ts';

/** `Connection: upgrade` with `Upgrade: websocket` (RFC 6455 §4.1; the token is case-insensitive). */
export function isWebSocketUpgrade(headers: http.IncomingHttpHeaders): boolean {
  const upgrade = headers.upgrade;
  return typeof upgrade === 'string' && upgrade.split(',').some((t) => t.trim().toLowerCase() === 'websocket') && connectionTokens(headers.connection).has('upgrade');
}

export interface TunnelResult {
  /** The target's status: 101 when the tunnel opened, else its refusal (sent on to the client). */
  targetStatus?: number;
  /** An error before the target answered (for failures.ts). */
  error?: unknown;
  /** Seconds until the target's answer. */
  targetTime: number;
  receivedBytes: number;
  sentBytes: number;
}

/**
 * Opens the upgrade to the target over a connection of its own (an upgraded connection is never returned to a
 * pool) and, on 101, joins the two sockets. Resolves when the exchange is over: the tunnel closed, the target
 * refused, or the connection failed.
 */
export function tunnel(
  client: Duplex,
  head: Buffer,
  target: Target,
  path: string,
  headers: string[],
): Promise<TunnelResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const idle = target.timeouts.idleTimeoutMs;
    let settled = false;
    const result: TunnelResult = { targetTime: -1, receivedBytes: 0, sentBytes: 0 };
    const done = () => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const up = http.request({ agent: false, host: target.host, port: target.port, method: 'GET', path, headers, setHost: false });
    const connectTimer = setTimeout(() => up.destroy(Object.assign(new Error('connect timeout'), { code: 'TARGET_CONNECT_TIMEOUT' })), target.timeouts.connectTimeoutMs);
    up.on('socket', (s) => s.once('connect', () => clearTimeout(connectTimer)));
    up.setTimeout(idle, () => up.destroy(Object.assign(new Error('idle'), { code: 'TARGET_HEADERS_TIMEOUT' })));
    up.on('error', (error) => {
      clearTimeout(connectTimer);
      if (result.targetStatus === undefined) result.error = error;
      done();
    });
    client.on('error', () => up.destroy());
    up.on('response', (res) => {
      // The target said no (401, 403, 404 …): its answer goes to the client as it is, and the connection closes.
      result.targetStatus = res.statusCode;
      result.targetTime = (performance.now() - t0) / 1000;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          if (name !== 'connection' && name !== 'transfer-encoding' && name !== 'content-length' && name !== 'keep-alive') lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        }
        lines.push(`Content-Length: ${body.length}`, 'Connection: close');
        client.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
        result.sentBytes = body.length;
        done();
      });
      res.on('error', () => done());
    });
    up.on('upgrade', (res, upSocket, upHead) => {
      clearTimeout(connectTimer);
      result.targetStatus = 101;
      result.targetTime = (performance.now() - t0) / 1000;
      const lines = [`HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      client.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      if (upHead.length) client.write(upHead);
      if (head.length) upSocket.write(head);
      client.on('data', (d: Buffer) => (result.receivedBytes += d.length));
      upSocket.on('data', (d: Buffer) => (result.sentBytes += d.length));
      client.pipe(upSocket);
      upSocket.pipe(client);
      // ALB's idle timeout: a tunnel with no byte in either direction for that long is closed.
      for (const s of [client, upSocket] as Array<Duplex & { setTimeout?: (ms: number) => void }>) s.setTimeout?.(idle);
      const close = () => {
        client.destroy();
        upSocket.destroy();
        done();
      };
      client.on('timeout', close);
      upSocket.on('timeout', close);
      client.on('close', close);
      upSocket.on('close', close);
      upSocket.on('error', close);
    });
    up.end();
  });
}
