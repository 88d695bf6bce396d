/**
 * An origin server for the gateway's conformance tests. It records exactly what reached it (request line, header
 * fields as sent, body length and SHA-256, trailers) and answers with what the shop never sends: chunked bodies,
 * gzip, several Set-Cookie fields, 103 Early Hints, an unsolicited 100, trailers, a WebSocket 101, an early 413.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import zlib from 'node:zlib';

export interface Arrival {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  bodyLength: number;
  bodySha256: string;
  trailers: Record<string, string | undefined>;
}

export interface Origin {
  port: number;
  arrivals: Arrival[];
  /** The newest arrival whose URL is `url`. */
  last(url: string): Arrival | undefined;
  close(): Promise<void>;
}

export const GZIP_TEXT = 'the same bytes, compressed by the origin and never touched by the gateway\n'.repeat(50);
export const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

export async function origin(): Promise<Origin> {
  const arrivals: Arrival[] = [];
  const server = http.createServer({ requireHostHeader: false }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/reject-early') {
      // Answer before reading a byte of the body, as a server enforcing an upload limit does; Node then reads and
      // discards the rest of the body itself.
      res.writeHead(413, { 'content-type': 'text/plain' }).end('too large');
      return;
    }
    if (path === '/reject-early-slam') {
      // The same, then the connection closed at once with the body unread: the kernel answers the rest with RST,
      // which can overtake the 413 (RFC 9112 §9.6 asks servers to close in stages to avoid exactly that).
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('too large');
      return;
    }
    if (path === '/early-hints') res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    if (path === '/continue') res.writeContinue();
    const hash = crypto.createHash('sha256');
    let length = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      length += d.length;
    });
    req.on('end', () => {
      const arrival: Arrival = {
        method: req.method!,
        url: req.url!,
        httpVersion: req.httpVersion,
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        bodyLength: length,
        bodySha256: hash.digest('hex'),
        trailers: { ...req.trailers },
      };
      arrivals.push(arrival);
      switch (path) {
        case '/chunked':
          res.writeHead(200, { 'content-type': 'text/plain' });
          for (let i = 0; i < 5; i++) res.write(`part ${i}\n`);
          res.end();
          return;
        case '/gzip':
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(zlib.gzipSync(GZIP_TEXT));
          return;
        case '/cookies':
          res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly', 'c=3; Path=/; Secure']);
          res.writeHead(200, { 'content-type': 'text/plain' }).end('cookies');
          return;
        case '/trailers':
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
          res.write('body with a trailer');
          res.addTrailers({ 'x-checksum': sha256('body with a trailer') });
          res.end();
          return;
        case '/big': {
          const size = 3 * 1024 * 1024;
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const block = Buffer.alloc(64 * 1024, 7);
          let sent = 0;
          const pump = () => {
            while (sent < size) {
              sent += block.length;
              if (!res.write(block)) return void res.once('drain', pump);
            }
            res.end();
          };
          pump();
          return;
        }
        default: {
          const body = JSON.stringify(arrival);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
        }
      }
    });
  });
  // WebSocket: the RFC 6455 §4.2.2 handshake, then every byte echoed back.
  server.on('upgrade', (req, socket, head) => {
    const key = req.headers['sec-websocket-key'];
    arrivals.push({ method: req.method!, url: req.url!, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, headers: req.headers, bodyLength: 0, bodySha256: '', trailers: {} });
    if (req.url === '/ws-refused' || typeof key !== 'string') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden');
      return;
    }
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    arrivals,
    last: (url) => [...arrivals].reverse().find((a) => a.url === url),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
