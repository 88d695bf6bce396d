/**
 * A client that writes bytes and reads bytes, over TCP or TLS: how the conformance tests send what no HTTP library
 * would (two Host fields, pipelined requests, a body after a 100) and see every byte that comes back.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface RawConnection {
  write(data: string | Buffer): void;
  /** Resolves with everything received once `pattern` matches it; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with everything received once the server closes (or `timeoutMs` passes: then `closed` is false). */
  untilClosed(timeoutMs?: number): Promise<{ text: string; closed: boolean }>;
  readonly received: string;
  destroy(): void;
}

export async function rawConnect(port: number, opts: { tls?: boolean } = {}): Promise<RawConnection> {
  const socket: net.Socket = await new Promise((resolve, reject) => {
    const s = opts.tls
      ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], servername: 'localhost' }, () => resolve(s))
      : net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  let received = '';
  let closed = false;
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
    for (const w of waiters) w();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    for (const w of waiters) w();
  });
  const wait = (done: () => boolean, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    write: (data) => void socket.write(data),
    async waitFor(pattern, timeoutMs = 5000) {
      if (!(await wait(() => pattern.test(received), timeoutMs))) throw new Error(`no ${pattern} within ${timeoutMs} ms; received: ${JSON.stringify(received.slice(0, 600))}`);
      return received;
    },
    async untilClosed(timeoutMs = 5000) {
      await wait(() => closed, timeoutMs);
      return { text: received, closed };
    },
    get received() {
      return received;
    },
    destroy: () => socket.destroy(),
  };
}

/** One request over a fresh connection: what came back before the server closed or `timeoutMs` passed. */
export async function rawExchange(port: number, data: string | Buffer, opts: { tls?: boolean; timeoutMs?: number } = {}) {
  const c = await rawConnect(port, opts);
  c.write(data);
  const out = await c.untilClosed(opts.timeoutMs ?? 2000);
  c.destroy();
  return out;
}

export { parseResponses, type RawResponse } from '../../src/http/wire.ts';
