/**
 * The shop through the gateway, driven by the clients people really use rather than `fetch`: Node's http.request
 * with no Content-Length (a chunked body), curl with `Expect: 100-continue`, a chunked upload bigger than the
 * shop accepts (answered early), and HTTP/2 on the HTTPS listener. Every one of these used to fail.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';
import { curl, hasCurl } from '../support/curl.ts';
import { parseResponses, rawExchange } from '../support/raw-client.ts';
import { eventually, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

let t: SystemUnderTest;
// In CI a missing curl fails the run (.ci/run installs it); elsewhere its cases are skipped with a reason.
if (!hasCurl && process.env.CI) throw new Error('curl is missing: .ci/run installs it for the conformance tests');

before(async () => {
  t = await systemUnderTest({ TARGETS: '2', CONTROL_TOKEN: 'test-token' });
  await eventually(async () => (await t.call('GET', '/products/42')).statusCode === 200, 10_000, 'a healthy target');
});
after(() => t.stop());

/** A request with the body written in pieces and no Content-Length: Node sends it chunked. */
function chunkedRequest(path: string, pieces: string[], headers: Record<string, string> = {}) {
  const url = new URL(t.system.url);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    for (const p of pieces) req.write(p);
    req.end();
  });
}


const accessLines = () => fs.readFileSync(t.system.accessLogFile, 'utf8').split('\n').filter(Boolean).map(parseAccessLine);

describe('clients that do not send Content-Length, or wait for 100 Continue', () => {
  it("logs in and places an order with Node's http.request (chunked bodies)", async () => {
    const login = await chunkedRequest('/auth/token', ['{"username":"alice",', '"password":"alice-pass"}']);
    assert.equal(login.status, 200, login.body);
    const token = JSON.parse(login.body).access_token as string;
    const order = await chunkedRequest('/orders', ['{"product_id":42,', '"quantity":1,', '"payment_token":"tok_abc","reference":"chunked-1"}'], { authorization: `Bearer ${token}` });
    assert.equal(order.status, 201, order.body);
    assert.match(String(order.headers.location), /^\/orders\/\d+$/);
  });

  it('places an order with curl and Expect: 100-continue', { skip: !hasCurl && 'curl is not installed' }, async () => {
    const { authorization } = await t.bearer('alice');
    const body = JSON.stringify({ product_id: 43, quantity: 1, payment_token: 'tok_abc', reference: 'curl-expect-1' });
    const res = await curl(['-sS', '-v', '-H', `authorization: ${authorization}`, '-H', 'content-type: application/json', '-H', 'Expect: 100-continue', '--data-binary', body, `${t.system.url}/orders`]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /< HTTP\/1\.1 100 Continue/);
    assert.match(res.stderr, /< HTTP\/1\.1 201 /);
    assert.match(res.stdout, /"status":"processing"/);
  });

  it('a chunked upload bigger than the shop accepts: 413 from the shop, early, and the client is not left hanging', async () => {
    const { authorization } = await t.bearer('alice');
    const pieces = Array.from({ length: 64 }, () => 'x'.repeat(16 * 1024));
    const res = await chunkedRequest('/orders', ['{"note":"', ...pieces, '"}'], { authorization: authorization! });
    assert.equal(res.status, 413);
    assert.match(String(res.headers['content-type']), /problem\+json/);
  });

  it('none of these is logged as a target failure', async () => {
    await eventually(async () => accessLines().some((f) => f[FIELD.elbStatusCode] === '413'), 5000, 'the 413 logged');
    const blamed = accessLines().filter((f) => /^Target/.test(f[FIELD.errorReason]!));
    assert.deepEqual(blamed, []);
  });
});

describe('HTTP/2 to the shop', () => {
  it('GET /products/42 over h2: 200 with its ETag, then 304 on revalidation; logged as h2', async () => {
    const session = http2.connect(t.system.httpsUrl, { rejectUnauthorized: false });
    const get = (headers: http2.OutgoingHttpHeaders) =>
      new Promise<{ status: number; etag: string | undefined }>((resolve, reject) => {
        const s = session.request({ ':path': '/products/42', ...headers });
        let status = 0;
        let etag: string | undefined;
        s.on('response', (h) => {
          status = Number(h[':status']);
          etag = h.etag as string | undefined;
        });
        s.resume();
        s.on('end', () => resolve({ status, etag }));
        s.on('error', reject);
      });
    const first = await get({});
    assert.equal(first.status, 200);
    assert.ok(first.etag);
    const again = await get({ 'if-none-match': first.etag! });
    session.close();
    assert.equal(again.status, 304);
    await eventually(async () => accessLines().some((f) => f[FIELD.type] === 'h2' && f[FIELD.elbStatusCode] === '304'), 5000, 'an h2 line');
  });
});

describe('desync mitigation on the running system (defensive, the default)', () => {
  it('non-compliant requests are forwarded or refused by tier, logged with their class, and counted in /metrics as in the log', async () => {
    const port = Number(new URL(t.system.url).port);
    // Acceptable: forwarded, connection kept.
    const zero = await rawExchange(port, 'GET /products/42 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(zero.text)[0]!.status, 200);
    // Ambiguous: forwarded, then the connection closed although the client asked to keep it.
    const body = await rawExchange(port, 'GET /products/43 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}');
    const [res] = parseResponses(body.text);
    assert.equal(res!.status, 200);
    assert.equal(res!.header('connection'), 'close');
    assert.ok(body.closed);
    // Severe (refused by the parser): 400, closed.
    const two = await rawExchange(port, 'POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}');
    assert.equal(parseResponses(two.text)[0]!.status, 400);

    await eventually(async () => accessLines().some((f) => f[FIELD.classificationReason] === 'MultipleContentLength'), 5000, 'the refusal logged');
    const classified = accessLines().filter((f) => f[FIELD.classification] !== '-');
    assert.deepEqual(new Set(classified.map((f) => f[FIELD.classificationReason])), new Set(['GetHeadZeroContentLength', 'UndefinedContentLengthSemantics', 'MultipleContentLength']));
    const metrics = (await t.control('GET', '/metrics')).body;
    const counted = [...metrics.matchAll(/^receipt_alb_desync_mitigation_mode_non_compliant_request_count_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(counted, classified.length);
  });
});

describe("the shop's metrics on the running system", () => {
  it('each target counts its answers by decision step; /metrics needs the control token, even through the gateway', async () => {
    await t.call('GET', '/orders'); // 401 from authenticate
    const denied = await t.call('GET', '/metrics');
    assert.equal(denied.statusCode, 401);
    // Two targets behind round robin: ask until the one that answered the 401 reports it.
    await eventually(async () => {
      const res = await t.call('GET', '/metrics', { headers: { authorization: 'Bearer test-token' } });
      return res.statusCode === 200 && /^receipt_shop_answers_total\{route="\/orders",method="GET",status="401",step="authenticate"\} [1-9]/m.test(res.body);
    }, 5000, 'a 401 from authenticate in a target\'s /metrics');
  });
});
