import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePreconditions, parseEtag, parseEtagList, strongMatch, weakMatch } from '../../src/http/etag.ts';

describe('entity tags (RFC 9110 §8.8.3)', () => {
  it('compares as the RFC table 3 says', () => {
    const t = (s: string) => parseEtag(s)!;
    // [a, b, strong, weak]
    const table: Array<[string, string, boolean, boolean]> = [
      ['W/"1"', 'W/"1"', false, true],
      ['W/"1"', 'W/"2"', false, false],
      ['W/"1"', '"1"', false, true],
      ['"1"', '"1"', true, true],
    ];
    for (const [a, b, strong, weak] of table) {
      assert.equal(strongMatch(t(a), t(b)), strong, `strong ${a} ${b}`);
      assert.equal(weakMatch(t(a), t(b)), weak, `weak ${a} ${b}`);
    }
  });

  it('parses lists and *, and refuses malformed values', () => {
    assert.deepEqual(parseEtagList('"a", W/"b" ,"c"'), [
      { weak: false, opaque: 'a' },
      { weak: true, opaque: 'b' },
      { weak: false, opaque: 'c' },
    ]);
    assert.equal(parseEtagList(' * '), '*');
    assert.equal(parseEtagList('abc'), undefined);
    assert.equal(parseEtagList('"a" "b"'), undefined);
    assert.equal(parseEtagList(''), undefined);
  });
});

describe('precondition evaluation order (RFC 9110 §13.2.2)', () => {
  const current = '"p42-v3"';
  it('If-None-Match that matches: 304 on GET and HEAD, 412 on other methods', () => {
    assert.equal(evaluatePreconditions('GET', { 'if-none-match': '"p42-v3"' }, current).kind, 'not-modified');
    assert.equal(evaluatePreconditions('HEAD', { 'if-none-match': 'W/"p42-v3"' }, current).kind, 'not-modified');
    assert.equal(evaluatePreconditions('PUT', { 'if-none-match': '*' }, current).kind, 'failed');
    assert.equal(evaluatePreconditions('GET', { 'if-none-match': '"other"' }, current).kind, 'proceed');
  });
  it('If-Match uses the strong comparison: a weak tag never matches', () => {
    assert.equal(evaluatePreconditions('PUT', { 'if-match': '"p42-v3"' }, current).kind, 'proceed');
    assert.equal(evaluatePreconditions('PUT', { 'if-match': 'W/"p42-v3"' }, current).kind, 'failed');
    assert.equal(evaluatePreconditions('PUT', { 'if-match': '"p42-v2"' }, current).kind, 'failed');
    assert.equal(evaluatePreconditions('PUT', { 'if-match': '*' }, current).kind, 'proceed');
    assert.equal(evaluatePreconditions('PUT', { 'if-match': '*' }, undefined).kind, 'failed');
  });
  it('If-Match is evaluated before If-None-Match', () => {
    assert.equal(evaluatePreconditions('GET', { 'if-match': '"stale"', 'if-none-match': '"p42-v3"' }, current).kind, 'failed');
  });
});
