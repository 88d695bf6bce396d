/**
 * Targets that misbehave on purpose, on real loopback sockets: each writes (or fails to write) raw bytes, so the
 * gateway meets exactly the failure ALB's documentation names.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../../src/db/embedded.ts';

export interface RawTarget {
  port: number;
  close(): Promise<void>;
}

/** A TCP server whose every connection is handled by `onData` on the first bytes of each request. */
export async function rawTarget(onRequest: (socket: net.Socket, request: string) => void): Promise<RawTarget> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buf.slice(0, end);
        buf = '';
        onRequest(socket, head);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A correct little HTTP answer. */
export const ok = (status: number, body: string, extra = '') =>
  `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

/** A port where nothing listens: connections are refused (RST). */
export async function refusedPort(): Promise<number> {
  return freePort();
}

/**
 * A target that never completes a TCP handshake: a process listening with a backlog of 1 whose event loop is
 * blocked, with its accept queue filled first, so further SYNs are dropped and a connect can only time out.
 */
export async function unacceptingTarget(): Promise<{ port: number; close(): Promise<void> }> {
  const port = await freePort();
  const code = `require('net').createServer().listen({ port: ${port}, host: '127.0.0.1', backlog: 1 }, () => { process.send('up'); const end = Date.now() + 120000; while (Date.now() < end) {} });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  await new Promise<void>((r) => child.once('message', () => r()));
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}
