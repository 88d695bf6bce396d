/** Request-target forms and Host rules (RFC 9112 §3.2), without sockets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestTarget, requestHost, validHost } from '../../src/gateway/request-target.ts';

describe('request targets', () => {
  it('origin-form splits path and query', () => {
    assert.deepEqual(parseRequestTarget('GET', '/a/b?x=1&y'), { ok: true, form: 'origin', path: '/a/b', query: 'x=1&y' });
  });
  it('absolute-form: the authority lower-cased, origin-form kept as sent', () => {
    assert.deepEqual(parseRequestTarget('GET', 'HTTP://Shop.Example:8080/P?q=1'), { ok: true, form: 'absolute', authority: 'shop.example:8080', path: '/P', query: 'q=1' });
    assert.deepEqual(parseRequestTarget('GET', 'https://shop.example'), { ok: true, form: 'absolute', authority: 'shop.example', path: '/', query: '' });
    assert.deepEqual(parseRequestTarget('GET', 'https://shop.example?q'), { ok: true, form: 'absolute', authority: 'shop.example', path: '/', query: 'q' });
  });
  it('refused: userinfo, another scheme, no host, * without OPTIONS, anything else', () => {
    for (const [m, u] of [
      ['GET', 'http://user:pw@shop.example/'],
      ['GET', 'ftp://shop.example/'],
      ['GET', 'http:///nohost'],
      ['GET', '*'],
      ['GET', 'shop.example:443'],
      ['GET', 'relative/path'],
    ]) {
      assert.equal(parseRequestTarget(m!, u!).ok, false, `${m} ${u}`);
    }
    assert.deepEqual(parseRequestTarget('OPTIONS', '*'), { ok: true, form: 'asterisk', path: '*', query: '' });
  });
});

describe('Host', () => {
  it('valid: names, ports, IPv4, IPv6 literals, empty; invalid: spaces, brackets half-open, a second colon', () => {
    for (const h of ['shop.example', 'shop.example:8080', '127.0.0.1:80', '[::1]:8443', '[::1]', '']) assert.ok(validHost(h), h);
    for (const h of ['a b', '[::1', 'a:b:c', 'a/b', 'a@b']) assert.ok(!validHost(h), h);
  });
  it('HTTP/1.1 needs exactly one valid Host; HTTP/1.0 may go without; an absolute-form authority replaces it', () => {
    assert.deepEqual(requestHost(['Host', 'Shop.Example'], '1.1', undefined), { ok: true, host: 'shop.example' });
    assert.deepEqual(requestHost([], '1.1', undefined), { ok: false });
    assert.deepEqual(requestHost(['Host', 'a', 'host', 'b'], '1.1', undefined), { ok: false });
    assert.deepEqual(requestHost(['Host', 'a b'], '1.1', undefined), { ok: false });
    assert.deepEqual(requestHost([], '1.0', undefined), { ok: true, host: '' });
    assert.deepEqual(requestHost(['Host', 'ignored'], '1.1', 'uri.example'), { ok: true, host: 'uri.example' });
  });
});
