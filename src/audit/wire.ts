/**
 * One request on a fresh connection, and every byte of the answer until the server closes: the audit judges what
 * was on the wire, which an HTTP client library would tidy away (a body after a 204, a HEAD answered with content).
 * `Connection: close` (RFC 9112 §9.6) makes the end of the answer the end of the connection.
 */
import net from 'node:net';
import tls from 'node:tls';
import { parseResponseStream } from '../http/wire.ts';
import type { Exchange } from './types.ts';

export interface WireOptions {
  timeoutMs: number;
  /** Accept a certificate that does not verify (a self-signed test server). */
  insecure?: boolean;
  maxBytes?: number;
}

export class WireError extends Error {
  override name = 'WireError';
}

export async function send(req: Exchange['request'], o: WireOptions): Promise<Exchange['response']> {
  const url = new URL(req.url);
  const secure = url.protocol === 'https:';
  const port = Number(url.port) || (secure ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  const lines = [`${req.method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [k, v] of Object.entries(req.headers)) if (!/^(host|connection|content-length)$/i.test(k)) lines.push(`${k}: ${v}`);
  lines.push('Connection: close');
  if (body) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  // Read an answer whole where it is not huge: cutting one short is a client going away (ALB logs it as 460).
  const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;

  const received = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const socket: net.Socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !o.insecure, ALPNProtocols: ['http/1.1'] })
      : net.connect(port, host);
    const timer = setTimeout(() => {
      socket.destroy();
      // What came before the timeout may still be a whole answer (a server that ignores Connection: close).
      if (size > 0) resolve(Buffer.concat(chunks));
      else reject(new WireError(`no answer within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.write(head);
      if (body) socket.write(body);
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size > maxBytes) socket.destroy();
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      if (size > 0) resolve(Buffer.concat(chunks));
      else reject(new WireError(e.message));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });

  const { responses, rest } = parseResponseStream(received.toString('latin1'), { headRequests: req.method === 'HEAD' ? [0] : [], stopAfterFinal: true });
  const final = responses.find((r) => r.status >= 200) ?? responses.at(-1);
  if (!final || !Number.isInteger(final.status)) throw new WireError(`not an HTTP/1.1 response: ${JSON.stringify(received.subarray(0, 80).toString('latin1'))}`);
  const headers: Record<string, string> = {};
  for (const [k, v] of final.headers) headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  const bodyless = req.method === 'HEAD' || final.status === 204 || final.status === 304;
  return {
    status: final.status,
    headers,
    // Judged are the start of a body (a problem, a leak, a list): the rest is not kept.
    body: Buffer.from(final.body.slice(0, 1024 * 1024), 'latin1').toString('utf8'),
    ...(bodyless ? { bytesAfterBodylessResponse: Buffer.byteLength(rest, 'latin1') } : {}),
  };
}
