/**
 * Sends the same raw requests to the gateway and to nginx in front of the same origin (the conformance tests'
 * origin), and prints what each answered: the status lines (1xx included) and whether the connection closed.
 * A tool for reading differences, not a test: nginx is optional (Debian's `nginx` package).
 *
 *   node --import tsx scripts/compare-nginx.ts [--help]
 */
import { nginxInstalled, startNginx } from '../bench/nginx.ts';
import { AccessLog } from '../src/gateway/access-log.ts';
import { validateGatewayConfig } from '../src/gateway/config.ts';
import { Gateway } from '../src/gateway/gateway.ts';
import { origin } from '../test/support/origin.ts';
import { rawExchange } from '../test/support/raw-client.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: node --import tsx scripts/compare-nginx.ts

Starts an origin, the gateway and (when installed) nginx in front of it on 127.0.0.1, sends each conformance case
as raw bytes to both, and prints a Markdown table of what each answered. Exits 1 when nginx is not installed.`);
  process.exit(0);
}
if (!nginxInstalled()) {
  console.error('nginx is not installed (apt-get install nginx)');
  process.exit(1);
}

const cases: Array<[string, string]> = [
  ['chunked body', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n'],
  ['Expect: 100-continue', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabc'],
  ['Expect: other', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: the-moon\r\nConnection: close\r\n\r\n'],
  ['Content-Length + Transfer-Encoding', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'],
  ['two different Content-Length', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd'],
  ['Transfer-Encoding: gzip, chunked', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'],
  ['GET with a body', 'GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'],
  ['absolute-form', 'GET http://other.example/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
  ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
  ['CONNECT', 'CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n'],
  ['TRACE', 'TRACE /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
  ['no Host (HTTP/1.1)', 'GET /a HTTP/1.1\r\nConnection: close\r\n\r\n'],
  ['two Host fields', 'GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'],
  ['Host: a b', 'GET /a HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'],
  ['HTTP/1.0, no Host', 'GET /a HTTP/1.0\r\n\r\n'],
  ['h2c upgrade', 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n'],
  ['WebSocket upgrade', 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'],
  ['103 from the target', 'GET /early-hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
  ['unsolicited 100 from the target', 'GET /continue HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
  ['early 413 to an upload', `POST /reject-early HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n${'x'.repeat(200_000)}`],
];

const up = await origin();
const nginx = await startNginx(up.port, { streaming: true });
const gateway = new Gateway({
  config: validateGatewayConfig({
    listeners: [{ protocol: 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'origin' }] }] }],
    targetGroups: [{ name: 'origin', healthCheck: { path: '/healthz', intervalMs: 300_000 } }],
  }),
  host: '127.0.0.1',
  accessLog: new AccessLog({}),
});
await gateway.listen();
gateway.group('origin').register('origin', '127.0.0.1', up.port);
await new Promise((r) => setTimeout(r, 500));

const summary = (text: string, closed: boolean) => {
  const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/\d\.\d (\d{3})/g)].map((m) => m[1]).join(', ') || 'nothing';
  return `${statuses}${closed ? ', closed' : ''}`;
};
console.log('| request | this gateway | nginx 1.22 (proxy_request_buffering off) |\n|---|---|---|');
for (const [name, text] of cases) {
  const g = await rawExchange(gateway.ports[0]!, text, { timeoutMs: 800 });
  const n = await rawExchange(Number(new URL(nginx.url).port), text, { timeoutMs: 800 });
  console.log(`| ${name} | ${summary(g.text, g.closed)} | ${summary(n.text, n.closed)} |`);
}
nginx.stop();
await gateway.close(200);
await up.close();
