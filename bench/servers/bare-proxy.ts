/**
 * Bench: the smallest sensible Node reverse proxy — node:http in front, an undici Pool behind, bodies streamed —
 * the reference the gateway's CPU per request is compared with. No logging, no rules, no checks.
 */
import http from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { ready } from './ready.ts';

const pool = new Pool(`http://127.0.0.1:${process.env.TARGET_PORT}`, { connections: 256 });
const server = http.createServer((req, res) => {
  pool.dispatch(
    { method: req.method as Dispatcher.HttpMethod, path: req.url!, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' }, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    {
      onRequestStart() {},
      onResponseStart(_c, status, headers) {
        res.writeHead(status, headers as http.OutgoingHttpHeaders);
      },
      onResponseData(_c, chunk) {
        res.write(chunk);
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        res.destroy();
      },
    },
  );
});
server.listen(0, '127.0.0.1', () => ready(server));
