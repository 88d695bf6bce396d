/**
 * The upstream response parser (src/gateway/response-parser.ts): what it reads, and what it refuses, whatever
 * way the bytes are split. Beside the cases, the same answers go to Node's own client (llhttp, strict) over a real
 * socket: both must accept the same answers with the same status, fields and body, and refuse the same ones.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ParseError, ResponseParser } from '../../src/gateway/response-parser.ts';

interface Read {
  informational: Array<[number, string[]]>;
  status?: number;
  fields?: string[];
  length?: number | undefined;
  body: string;
  trailers?: string[];
  ended: boolean;
  reusable: boolean;
}

/** Feeds `bytes` in pieces of `step` (all at once when 0); `eof` then closes the connection. */
function read(bytes: string, opts: { head?: boolean; step?: number; eof?: boolean; max?: number } = {}): Read {
  const r: Read = { informational: [], body: '', ended: false, reusable: false };
  const p = new ResponseParser(
    {
      informational: (s, h) => r.informational.push([s, h]),
      head: (s, h, length) => Object.assign(r, { status: s, fields: h, length }),
      body: (c) => (r.body += c.toString('latin1')),
      end: (t) => Object.assign(r, { ended: true, trailers: t }),
    },
    opts.max ?? 32 * 1024,
    opts.head ?? false,
  );
  const buf = Buffer.from(bytes, 'latin1');
  const step = opts.step || buf.length || 1;
  for (let i = 0; i < buf.length; i += step) p.execute(buf.subarray(i, i + step));
  if (opts.eof) p.finishAtClose();
  r.reusable = p.reusable;
  return r;
}
const refused = (bytes: string, code: RegExp, opts: { head?: boolean; step?: number; eof?: boolean; max?: number } = {}) =>
  assert.throws(() => read(bytes, opts), (e: unknown) => e instanceof ParseError && code.test(e.code), bytes);

describe('ResponseParser: answers read', () => {
  for (const step of [0, 1, 3, 7]) {
    it(`Content-Length, chunked with extensions and trailers, 1xx first — in pieces of ${step || 'all'} bytes`, () => {
      const a = read('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  spaced  \r\n\r\nhello', { step });
      assert.deepEqual([a.status, a.fields, a.body, a.ended, a.reusable], [200, ['Content-Length', '5', 'X-A', 'spaced'], 'hello', true, true]);
      assert.equal(a.length, 5, 'the length the body is framed by');
      const c = read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nDigest: x\r\n\r\n', { step });
      assert.deepEqual([c.body, c.trailers, c.ended, c.reusable], ['hello!', ['Digest', 'x'], true, true]);
      assert.equal(c.length, undefined, 'a chunked body has no length ahead');
      const i = read('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', { step });
      assert.deepEqual(i.informational, [[100, []], [103, ['Link', '</a.css>']]]);
      assert.deepEqual([i.status, i.ended], [204, true]);
    });
  }

  it('no body for HEAD, 204 and 304 whatever the fields say; HTTP/1.0 and Connection: close are not reused', () => {
    const h = read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', { head: true });
    assert.deepEqual([h.body, h.ended, h.reusable], ['', true, true]);
    assert.equal(read('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').ended, true);
    assert.equal(read('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').reusable, false);
    assert.equal(read('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').reusable, true);
    assert.equal(read('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').reusable, false);
  });

  it('neither framing field, or a coding other than chunked last: the body runs to the close', () => {
    const a = read('HTTP/1.1 200 OK\r\n\r\nuntil the end', { eof: true });
    assert.deepEqual([a.body, a.ended, a.reusable], ['until the end', true, false]);
    const b = read('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz', { eof: true });
    assert.deepEqual([b.body, b.ended], ['zzz', true]);
  });

  it('cut short: a close before the end of a Content-Length or chunked body is an error, not an end', () => {
    assert.throws(() => read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf', { eof: true }), /socket hang up/);
    assert.throws(() => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', { eof: true }), /socket hang up/);
    assert.throws(() => read('', { eof: true }), /socket hang up/);
  });

  it('bytes after the answer make the connection unusable', () => {
    assert.equal(read('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n').reusable, false);
  });
});

describe('ResponseParser: an upgrade asked for (RFC 9110 §7.8)', () => {
  /** Feeds `bytes` in pieces of `step` to a parser whose request asked to upgrade. */
  function switched(bytes: string, step: number) {
    const seen: { informational: number[]; fields?: string[]; rest: string; head: boolean } = { informational: [], rest: '', head: false };
    const p = new ResponseParser(
      {
        informational: (s) => seen.informational.push(s),
        head: () => (seen.head = true),
        body: () => {},
        end: () => {},
        switched: (h, rest) => Object.assign(seen, { fields: h, rest: rest.toString('latin1') }),
      },
      32 * 1024,
      false,
    );
    const buf = Buffer.from(bytes, 'latin1');
    for (let i = 0; i < buf.length; i += step) p.execute(buf.subarray(i, i + step));
    return { ...seen, complete: p.complete, reusable: p.reusable };
  }

  for (const step of [1, 7, 1000]) {
    it(`a 101 hands over its fields and the bytes after its head, never read as HTTP (in pieces of ${step})`, () => {
      const bytes = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi';
      const r = switched(bytes, step);
      assert.deepEqual(r.informational, [100]);
      assert.deepEqual(r.fields, ['Upgrade', 'websocket', 'Connection', 'Upgrade']);
      // Split into pieces, what follows the head arrives after the handover, on the socket itself.
      if (step === 1000) assert.equal(r.rest, '\x81\x02hi');
      assert.deepEqual([r.head, r.complete, r.reusable], [false, false, false]);
    });
  }
});

describe('ResponseParser: answers refused (RFC 9112)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a bare LF ending a line', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', /HPE_LF_EXPECTED/],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n', /HPE_INVALID_HEADER_TOKEN/],
    ['whitespace before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', /HPE_INVALID_HEADER_TOKEN/],
    ['a line that is no field', 'HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n', /HPE_INVALID_HEADER_TOKEN/],
    ['a control character in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n', /HPE_INVALID_HEADER_TOKEN/],
    ['Content-Length not digits', 'HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n', /HPE_INVALID_CONTENT_LENGTH/],
    ['two Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx', /HPE_UNEXPECTED_CONTENT_LENGTH/],
    ['Content-Length beside Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /HPE_UNEXPECTED_CONTENT_LENGTH/],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /HPE_INVALID_CHUNK_SIZE/],
    ['a space after the chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n', /HPE_INVALID_CHUNK_SIZE/],
    ['no CRLF after chunk data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n', /HPE_STRICT/],
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', /HPE_INVALID_CONSTANT/],
    ['a status of two digits', 'HTTP/1.1 20 OK\r\n\r\n', /HPE_INVALID_STATUS/],
    ['HTTP/2.0 in a status line', 'HTTP/2.0 200 OK\r\n\r\n', /HPE_INVALID_STATUS/],
    ['an unasked-for 101', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', /HPE_INVALID_STATUS/],
  ];
  for (const [name, bytes, code] of cases) {
    it(`${name}`, () => {
      refused(bytes, code);
      refused(bytes, code, { step: 1 });
    });
  }
  it('a head over the limit, arriving at once or a byte at a time', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(2000)}\r\nContent-Length: 0\r\n\r\n`;
    refused(big, /HPE_HEADER_OVERFLOW/, { max: 1024 });
    refused(big, /HPE_HEADER_OVERFLOW/, { max: 1024, step: 1 });
    assert.equal(read(big, { max: 4096 }).status, 200);
  });
});

describe("ResponseParser agrees with Node's own client (llhttp) on the same bytes", () => {
  let server: net.Server;
  let port = 0;
  let next = '';
  before(async () => {
    server = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(next, 'latin1'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const node = (bytes: string) =>
    new Promise<{ ok: true; status: number; fields: string[]; body: string } | { ok: false }>((resolve) => {
      next = bytes;
      const req = http.request({ host: '127.0.0.1', port, agent: false, path: '/' }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.complete ? { ok: true, status: res.statusCode!, fields: res.rawHeaders, body } : { ok: false }));
        res.on('error', () => resolve({ ok: false }));
      });
      req.on('error', () => resolve({ ok: false }));
      req.end();
    });
  const ours = (bytes: string) => {
    try {
      const r = read(bytes, { eof: true });
      return { ok: true as const, status: r.status!, fields: r.fields!, body: r.body };
    } catch {
      return { ok: false as const };
    }
  };

  const answers = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n',
    'HTTP/1.1 404 Not Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\n\r\nto the close',
    'HTTP/1.0 200 OK\r\n\r\nold',
    'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-Tab:\tvalue\t\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort',
    'HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n',
    'SSH-2.0-OpenSSH_9.2\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0005\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n',
    'HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK \r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-E:\r\nX-Latin: caf\xe9\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n1234567',
    'HTTP/1.1 200 OK\r\nContent-Length:  5 \r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX\x7fY: 1\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n',
  ];
  for (const bytes of answers) {
    it(JSON.stringify(bytes).slice(0, 90), async () => {
      assert.deepEqual(ours(bytes), await node(bytes));
    });
  }

  // Where they differ, on purpose.
  it('a NUL in the reason phrase: llhttp lets it pass, this parser refuses it (RFC 9112 §4: reason-phrase has no CTL)', async () => {
    const bytes = 'HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n';
    assert.equal((await node(bytes)).ok, true);
    refused(bytes, /HPE_INVALID_STATUS/);
  });
  it('bytes after a complete answer: Node fails the request; this parser delivers the answer and the connection is not reused', async () => {
    const bytes = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA';
    assert.equal((await node(bytes)).ok, false);
    const r = read(bytes);
    assert.deepEqual([r.body, r.ended, r.reusable], ['ab', true, false]);
  });
});
