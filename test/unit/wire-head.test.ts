/**
 * The request head parser (src/gateway/wire/head.ts) on the inputs where reading "as received" matters: what it
 * keeps for the classifier, and the few things it refuses because they are no head at all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestFraming } from '../../src/gateway/wire/framing.ts';
import { parseRequestHead } from '../../src/gateway/wire/head.ts';

const parse = (text: string, max = 1024) => parseRequestHead(Buffer.from(text, 'latin1'), 0, max);
const head = (text: string) => {
  const r = parse(text);
  assert.equal(r.kind, 'head');
  return (r as Extract<typeof r, { kind: 'head' }>).head;
};

describe('request heads, as received', () => {
  it('empty lines before the request line are skipped (RFC 9112 §2.2); the end is where the empty line ends', () => {
    const r = parse('\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nNEXT');
    assert.equal(r.kind, 'head');
    if (r.kind !== 'head') return;
    assert.deepEqual([r.head.method, r.head.target, r.head.version, r.head.fields], ['GET', '/a', 'HTTP/1.1', ['Host', 'x']]);
    assert.equal(Buffer.from('\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nNEXT', 'latin1').subarray(r.end).toString(), 'NEXT');
  });

  it('a space in the target, a version with trailing space, and no version at all are kept for the classifier', () => {
    assert.equal(head('GET /a b?c d HTTP/1.1\r\n\r\n').target, '/a b?c d');
    assert.equal(head('GET /a HTTP/1.1 \r\n\r\n').version, 'HTTP/1.1 ');
    assert.deepEqual([head('GET /a\r\nX: 1\r\n\r\n').target, head('GET /a\r\nX: 1\r\n\r\n').version], ['/a', '']);
  });

  it('a field name with a space or a control character, and a bare CR or LF inside a value, are kept', () => {
    assert.deepEqual(head('POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n').fields, ['Transfer-Encoding ', 'chunked']);
    assert.deepEqual(head('POST / HTTP/1.1\r\n\x01Content-Length: 1\r\n\r\n').fields, ['\x01Content-Length', '1']);
    assert.deepEqual(head('POST / HTTP/1.1\r\nX: a\rb\nc\r\n\r\n').fields, ['X', 'a\rb\nc']);
  });

  it('a line starting with whitespace is a field whose name starts with whitespace, not a continuation', () => {
    assert.deepEqual(head('POST / HTTP/1.1\r\nA: 1\r\n Transfer-Encoding: chunked\r\n\r\n').fields, ['A', '1', ' Transfer-Encoding', 'chunked']);
  });

  it('refused: no space in the request line, a field line without a colon, a bare LF ending a line, a head too large', () => {
    assert.deepEqual(parse('GARBAGE\r\n\r\n'), { kind: 'error', code: 'HPE_INVALID_METHOD', message: 'Invalid method' });
    assert.equal((parse('GET / HTTP/1.1\r\nno colon\r\n\r\n') as { code: string }).code, 'HPE_INVALID_HEADER_TOKEN');
    assert.equal((parse('GET / HTTP/1.1\nHost: x\n\n') as { code: string }).code, 'HPE_LF_EXPECTED');
    assert.equal((parse(`GET /${'a'.repeat(2000)}`) as { code: string }).code, 'HPE_HEADER_OVERFLOW');
    assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\n\r').kind, 'incomplete');
  });
});

describe('body framing (RFC 9112 §6.3)', () => {
  it('Transfer-Encoding wins over Content-Length; codings before chunked are kept for the target', () => {
    assert.deepEqual(requestFraming(['Content-Length', '5', 'Transfer-Encoding', 'chunked']), { kind: 'chunked', codings: [] });
    assert.deepEqual(requestFraming(['Transfer-Encoding', 'gzip, identity', 'transfer-encoding', 'chunked;x=1']), { kind: 'chunked', codings: ['gzip'] });
  });

  it('a last coding other than chunked, chunked twice, or Content-Lengths that are not one number: the length is unknown', () => {
    assert.equal(requestFraming(['Transfer-Encoding', 'gzip'])?.kind, 'invalid');
    assert.equal(requestFraming(['Transfer-Encoding', 'chunked, chunked'])?.kind, 'invalid');
    assert.deepEqual(requestFraming(['Content-Length', '1', 'Content-Length', '2']), { kind: 'invalid', code: 'HPE_UNEXPECTED_CONTENT_LENGTH' });
    assert.deepEqual(requestFraming(['Content-Length', '1,2']), { kind: 'invalid', code: 'HPE_UNEXPECTED_CONTENT_LENGTH' });
    assert.deepEqual(requestFraming(['Content-Length', '1 1']), { kind: 'invalid', code: 'HPE_INVALID_CONTENT_LENGTH' });
    assert.deepEqual(requestFraming(['Content-Length', '7', 'content-length', '7']), { kind: 'length', length: 7 });
    assert.deepEqual(requestFraming(['Content-Length', '7, 7']), { kind: 'length', length: 7 }, 'a list of the same number is that number (RFC 9110 §8.6)');
  });

  it('only exact names frame a body: a look-alike is no framing field', () => {
    assert.deepEqual(requestFraming(['Transfer-Encoding ', 'chunked', 'Content_Length', '3']), { kind: 'none' });
  });
});
