/**
 * The audit's recorded inputs: a HAR file judged as it was recorded (redirect loops across entries, HTTP/2
 * pseudo-fields ignored, a cached 304 not taken for a body), an ALB access log judged for who made each error, and
 * the rules that read several fields at once (rate limits in both families, HEAD against the nearest GET).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditAccessLog, auditHar, judgeExchange, judgeTogether, type Exchange } from '../../src/audit/index.ts';
import { formatAccessLine, type AccessRecord } from '../../src/gateway/access-log.ts';

const h = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value }));
const entry = (method: string, url: string, status: number, headers: Record<string, string>, content: Record<string, unknown> = {}) => ({
  request: { method, url, headers: h({ ':authority': 'shop.example', accept: '*/*' }) },
  response: { status, headers: h({ ':status': String(status), ...headers }), content },
});

describe('HAR', () => {
  const har = {
    log: {
      version: '1.2',
      entries: [
        entry('GET', 'https://shop.example/old', 301, { location: '/mid' }),
        entry('GET', 'https://shop.example/mid', 302, { location: 'https://shop.example/old' }),
        entry('POST', 'https://shop.example/orders', 201, { 'content-type': 'application/json' }, { text: '{"id":1}' }),
        entry('GET', 'https://shop.example/products/42', 304, { etag: '"a"' }, { text: '{"id":42}', size: 9 }),
        entry('GET', 'https://shop.example/blocked', 0, {}),
        entry('GET', 'https://shop.example/me', 401, { 'content-type': 'application/problem+json' }, { text: '{"type":"about:blank","title":"Unauthorized","status":401}' }),
        entry('GET', 'https://shop.example/boom', 500, { 'content-type': 'text/plain' }, { text: Buffer.from('Error: x\n    at run (/srv/app.js:1:2)').toString('base64'), encoding: 'base64' }),
      ],
    },
  };
  const r = auditHar(JSON.stringify(har), 'rec.har');
  const rules = (path: string) => r.findings.filter((f) => f.exchange && new URL(f.exchange.request.url).pathname === path).map((f) => f.rule).sort();

  it('judges every answered entry, skipping one never answered', () => assert.equal(r.exchanges, 6));
  it('a loop across two entries is one redirect-loop, at its first entry', () => {
    assert.deepEqual(rules('/old'), ['redirect-loop']);
    assert.deepEqual(rules('/mid'), []);
  });
  it('201 without Location; 401 without a challenge; a base64 stack trace in a 500', () => {
    assert.deepEqual(rules('/orders'), ['created-without-location']);
    assert.deepEqual(rules('/me'), ['unauthorized-without-challenge']);
    assert.deepEqual(rules('/boom'), ['error-not-problem-json', 'internal-details-leaked']);
  });
  it('a 304 whose content the browser filled from its cache is not a body on a 304', () => assert.deepEqual(rules('/products/42'), []));
  it('points at the entry', () => assert.equal(r.findings.find((f) => f.rule === 'created-without-location')!.exchange!.where, 'rec.har#entry 3'));
  it('not a HAR → a clear error', () => {
    assert.throws(() => auditHar('{"x":1}', 'x.har'), /no log.entries/);
    assert.throws(() => auditHar('nope', 'x.har'), /not JSON/);
  });
});

describe('ALB access log', () => {
  const t0 = Date.parse('2026-11-28T10:00:00Z');
  const rec = (s: number, elb: number, target: number | undefined, path = '/orders', reason?: string): string => {
    const r: AccessRecord = {
      type: 'http', time: new Date(t0 + s * 1000), client: '10.0.0.1:5000', ...(target !== undefined ? { target: '10.0.1.1:80' } : {}),
      requestProcessingTime: 0, targetProcessingTime: target !== undefined ? 0.01 : -1, responseProcessingTime: 0,
      elbStatusCode: elb, ...(target !== undefined ? { targetStatusCode: target } : {}), receivedBytes: 100, sentBytes: 200,
      request: `GET http://shop.example:80${path} HTTP/1.1`, userAgent: 'curl', targetGroup: 'targetgroup/shop', traceId: 'Root=1-x', domainName: '',
      matchedRulePriority: 0, requestCreationTime: new Date(t0 + s * 1000), actionsExecuted: ['forward'], ...(reason ? { errorReason: reason } : {}),
    };
    return formatAccessLine(r);
  };
  const lines = [
    rec(0, 200, 200),
    rec(1, 500, 500),
    rec(2, 500, 500),
    ...[10, 12, 15, 20, 30, 40].map((s) => rec(s, 502, undefined, '/products', 'TargetConnectionError')),
    rec(300, 502, undefined, '/products', 'TargetConnectionError'),
    rec(301, 503, undefined, '/cart'),
    rec(302, 460, undefined, '/reports'),
    rec(303, 404, 404),
    'garbage line',
  ];
  const r = auditAccessLog(lines.join('\n') + '\n', 'access.log');

  it('counts by class and by who made the 5xx', () => {
    assert.deepEqual(r.summary, { requests: 13, '2xx': 1, '3xx': 0, '4xx': 2, '5xx': 10, 'elb-made 5xx': 8, 'target-made 5xx': 2, '460': 1 });
    assert.match(r.skipped[0]!, /1 line\(s\) not in ALB's format: 14/);
  });
  it("target-made 500s are the application's, grouped, at their first line", () => {
    const f = r.findings.filter((x) => x.rule === 'alb-target-5xx');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /answered 500 to GET \/orders: 2 times/);
    assert.deepEqual(f[0]!.location, { file: 'access.log', line: 2 });
  });
  it("the load balancer's own 502 and 503, with their reasons; six 502s within a minute are a burst, the seventh alone is not", () => {
    const elb = r.findings.filter((x) => x.rule === 'alb-elb-5xx').map((x) => x.message);
    assert.equal(elb.length, 2);
    assert.ok(elb.some((m) => /502 \(TargetConnectionError\): 7 times/.test(m)));
    const bursts = r.findings.filter((x) => x.rule === 'alb-502-burst');
    assert.equal(bursts.length, 1);
    assert.match(bursts[0]!.message, /^6 load-balancer 502s within 30 s/);
    assert.equal(bursts[0]!.location!.line, 4);
  });
  it('460: a client gave up', () => assert.equal(r.findings.filter((x) => x.rule === 'alb-client-closed').length, 1));
  it('a clean log: no findings', () => assert.deepEqual(auditAccessLog([rec(0, 200, 200), rec(1, 404, 404), rec(2, 301, undefined)].join('\n'), 'a.log').findings, []));
});

const ex = (method: string, url: string, status: number, headers: Record<string, string>, probe: Exchange['probe'] = 'recorded', body = ''): Exchange => ({
  probe,
  request: { method, url, headers: {} },
  response: { status, headers, body },
});

describe('rules reading several fields', () => {
  it('rate limits: the structured RateLimit fields against X-RateLimit-*, and a 429 with requests left', () => {
    const agree = ex('GET', 'http://a/x', 200, { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '4', 'ratelimit-policy': '"default";q=10;w=60', ratelimit: '"default";r=4;t=30' });
    assert.deepEqual(judgeExchange(agree), []);
    const disagree = ex('GET', 'http://a/x', 200, { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '4', 'ratelimit-policy': '"default";q=10;w=60', ratelimit: '"default";r=5;t=30' });
    assert.match(judgeExchange(disagree).find((f) => f.rule === 'rate-limit-headers-disagree')!.message, /Remaining 4 but the RateLimit fields say 5/);
    const limited = ex('GET', 'http://a/x', 429, { 'retry-after': '3', 'content-type': 'application/problem+json', 'ratelimit-limit': '10', 'ratelimit-remaining': '3' }, 'recorded', '{}');
    assert.match(judgeExchange(limited).find((f) => f.rule === 'rate-limit-headers-disagree')!.message, /429 while RateLimit says 3/);
  });
  it('HEAD is compared with the nearest GET that no unsafe request separates from it', () => {
    const get = ex('GET', 'http://a/o/1', 200, { 'content-type': 'application/json' });
    const del = ex('DELETE', 'http://a/o/1', 204, {});
    const head = ex('HEAD', 'http://a/o/1', 410, { 'content-type': 'application/problem+json' });
    assert.deepEqual(judgeTogether([get, del, head]).map((f) => f.rule), []);
    assert.deepEqual(judgeTogether([get, head]).map((f) => f.rule), ['head-differs-from-get']);
    const getAfter = ex('GET', 'http://a/o/1', 410, { 'content-type': 'application/problem+json' });
    assert.deepEqual(judgeTogether([get, del, head, getAfter]).map((f) => f.rule), []);
  });
  it('a 304 and an answer to HEAD may carry the Content-Length of the 200 they stand for; a 204 may not', () => {
    assert.deepEqual(judgeExchange({ ...ex('GET', 'http://a/x', 304, { 'content-length': '120' }), response: { status: 304, headers: { 'content-length': '120' }, body: '', bytesAfterBodylessResponse: 0 } }), []);
    assert.deepEqual(judgeExchange({ ...ex('DELETE', 'http://a/x', 204, {}), response: { status: 204, headers: { 'content-length': '7' }, body: '', bytesAfterBodylessResponse: 0 } }).map((f) => f.rule), ['body-on-bodyless-response']);
  });
});
