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

export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
  trailers: Array<[string, string]>;
  header(name: string): string | undefined;
}

/** Splits a byte stream into the responses in it: 1xx, Content-Length, chunked (with trailers), or to the end. */
export function parseResponses(text: string, opts: { headRequests?: number[] } = {}): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine!)?.[1]);
    const headers = lines.map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
    });
    const header = (name: string) => headers.find(([k]) => k === name)?.[1];
    at = end + 4;
    let body = '';
    const trailers: Array<[string, string]> = [];
    const noBody = status < 200 || status === 204 || status === 304 || opts.headRequests?.includes(out.length);
    if (!noBody) {
      if (/chunked/i.test(header('transfer-encoding') ?? '')) {
        for (;;) {
          const lineEnd = text.indexOf('\r\n', at);
          const size = parseInt(text.slice(at, lineEnd), 16);
          at = lineEnd + 2;
          if (size === 0) {
            const tEnd = text.indexOf('\r\n\r\n', at - 2);
            for (const l of text.slice(at, tEnd).split('\r\n').filter(Boolean)) {
              const i = l.indexOf(':');
              trailers.push([l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()]);
            }
            at = tEnd + 4;
            break;
          }
          body += text.slice(at, at + size);
          at += size + 2;
        }
      } else if (header('content-length') !== undefined) {
        const n = Number(header('content-length'));
        body = text.slice(at, at + n);
        at += n;
      } else if (status >= 200 && status !== 101) {
        body = text.slice(at);
        at = text.length;
      }
    }
    out.push({ status, headers, body, trailers, header });
    if (status === 101) break;
  }
  return out;
}
