/**
 * Upgrades. ALB passes WebSocket upgrades to the target and, once the target answers 101, carries bytes both ways
 * until either side closes or the idle timeout passes with no byte in either direction; rules no longer apply to
 * that connection (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html).
 * The upgrade travels through the gateway's one client to targets (upstream.ts), as requests and health checks do:
 * its connect and idle timeouts, its strict reading of the answer, TLS to an HTTPS target group, its connection
 * counts. Any other upgrade (`h2c`, …) is ignored, which RFC 9110 §7.8 allows: the connection handler serves the request as
 * plain HTTP/1.1 (listener/connection.ts), and `Upgrade` goes no further (hop-by-hop, headers.ts).
 */
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { connectionTokens } from './headers.ts';
import { requestHead } from './upstream.ts';
import type { Target } from './cluster/target.ts';

/** `Connection: upgrade` with `Upgrade: websocket` (RFC 6455 §4.1; the token is case-insensitive). */
export function isWebSocketUpgrade(headers: IncomingHttpHeaders): boolean {
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

// A refusal's fields that describe its own connection or framing: the gateway frames it again, and closes.
const REFRAMED: ReadonlySet<string> = new Set(['connection', 'transfer-encoding', 'content-length', 'keep-alive']);

/**
 * Asks the target for the upgrade through the gateway's own client (upstream.ts, on a connection outside the pool)
 * and, on 101, joins the two sockets. Resolves when the exchange is over: the tunnel closed, the target refused, or
 * the connection failed.
 */
export function tunnel(client: Duplex, head: Buffer, target: Target, path: string, headers: string[]): Promise<TunnelResult> {
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
    let request: string;
    try {
      request = requestHead('GET', path, headers);
    } catch (error) {
      // The gateway could not write the request: its own failure (failures.ts), never the target's.
      result.error = error;
      return done();
    }
    let refusal: string[] = [];
    const body: Buffer[] = [];
    const exchange = target.upstream.upgrade(request, {
      // An interim answer before the 101 (a 100, a 103) is not the upgrade's: the tunnel waits on.
      informational: () => {},
      head: (status, raw) => {
        // The target said no (401, 403, 404 …): its answer goes to the client as it is, and the connection closes.
        result.targetStatus = status;
        result.targetTime = (performance.now() - t0) / 1000;
        refusal = raw;
      },
      body: (chunk) => body.push(chunk),
      end: () => {
        const bytes = Buffer.concat(body);
        const status = result.targetStatus!;
        let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
        for (let i = 0; i < refusal.length; i += 2) if (!REFRAMED.has(refusal[i]!.toLowerCase())) text += `${refusal[i]}: ${refusal[i + 1]}\r\n`;
        client.end(Buffer.concat([Buffer.from(`${text}Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`, 'latin1'), bytes]));
        result.sentBytes = bytes.length;
        done();
      },
      error: (error) => {
        if (result.targetStatus === undefined) result.error = error;
        // A refusal cut off mid-body: nothing whole can be passed on.
        else client.destroy();
        done();
      },
      switched: (raw, upSocket, rest) => join(raw, upSocket, rest),
    });
    exchange.end();
    client.on('error', () => exchange.destroy(Object.assign(new Error('client gone'), { code: 'ECONNRESET' })));

    function join(raw: string[], upSocket: net.Socket, rest: Buffer): void {
      result.targetStatus = 101;
      result.targetTime = (performance.now() - t0) / 1000;
      // The 101 goes on with the target's fields as they came (Upgrade, Connection, Sec-WebSocket-Accept, …).
      let text = 'HTTP/1.1 101 Switching Protocols\r\n';
      for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
      client.write(`${text}\r\n`, 'latin1');
      if (rest.length) client.write(rest);
      if (head.length) upSocket.write(head);
      client.on('data', (d: Buffer) => (result.receivedBytes += d.length));
      upSocket.on('data', (d: Buffer) => (result.sentBytes += d.length));
      // What came after the 101's head was sent to the client too.
      result.sentBytes += rest.length;
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
      // The target's socket may have been paused by a slow reader before the handover.
      upSocket.resume();
    }
  });
}
