/** A well-behaved HTTP target whose health and latency a test can change while it runs. */
import http from 'node:http';
import type net from 'node:net';

export interface HttpTarget {
  port: number;
  name: string;
  /** Status its /healthz answers. */
  health: number;
  /** Milliseconds every other request takes. */
  delayMs: number;
  served: number;
  lastHeaders: http.IncomingHttpHeaders | undefined;
  healthChecks: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function httpTarget(name: string): Promise<HttpTarget> {
  const t: HttpTarget = {
    port: 0,
    name,
    health: 200,
    delayMs: 0,
    served: 0,
    lastHeaders: undefined,
    healthChecks: [],
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      t.healthChecks.push(req.headers);
      res.writeHead(t.health, { 'content-type': 'text/plain' }).end(String(t.health));
      return;
    }
    t.lastHeaders = req.headers;
    const answer = () => {
      t.served++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ target: name, path: req.url }));
    };
    if (t.delayMs) setTimeout(answer, t.delayMs);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.port = (server.address() as net.AddressInfo).port;
  t.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return t;
}
