/** Bench: a bare node:http target answering one fixed JSON body (the body the shop sends for a product). */
import http from 'node:http';
import { ready } from './ready.ts';

const body = process.env.BODY ?? '{"id":42,"name":"Mechanical keyboard","price_cents":8900,"stock":25}';
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), etag: '"p42-v1"' });
  res.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => ready(server));
