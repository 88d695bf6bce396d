/** RFC 7240 §2: the Prefer header as clients send it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePrefer } from '../../src/http/index.ts';

describe('parsePrefer (RFC 7240 §2)', () => {
  it('reads a bare preference, case-insensitively', () => {
    assert.equal(parsePrefer('Respond-Async').get('respond-async'), true);
  });
  it('reads several, with values, parameters and repeated fields', () => {
    const p = parsePrefer(['respond-async, wait=10', 'return=minimal; foo="a,b"', 'handling=lenient']);
    assert.equal(p.get('respond-async'), true);
    assert.equal(p.get('wait'), '10');
    assert.equal(p.get('return'), 'minimal');
    assert.equal(p.get('handling'), 'lenient');
  });
  it('keeps the first of a repeated preference and unquotes values', () => {
    const p = parsePrefer('wait=5, wait=100, return="representation"');
    assert.equal(p.get('wait'), '5');
    assert.equal(p.get('return'), 'representation');
  });
  it('ignores empty members and what is not a token; nothing sent is nothing preferred', () => {
    assert.equal(parsePrefer(' , ,respond-async ,').get('respond-async'), true);
    assert.equal(parsePrefer('bad name, ok').size, 1);
    assert.equal(parsePrefer(undefined).size, 0);
    assert.equal(parsePrefer('').size, 0);
  });
});
