import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHttpDate, formatRetryAfter, parseHttpDate, parseRetryAfter } from '../../src/http/retry-after.ts';

describe('Retry-After (RFC 9110 §10.2.3)', () => {
  const now = Date.UTC(1994, 10, 6, 8, 49, 0);
  it('reads delay-seconds', () => {
    assert.equal(parseRetryAfter('47', now), 47_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
  });
  it('reads all three HTTP-date forms (§5.6.7) as the wait until then', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 37_000);
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now), 37_000);
    assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', now), 37_000);
  });
  it('a date in the past means now; garbage is not a value', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('1.5', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
  it('writes IMF-fixdate and whole seconds, rounded up', () => {
    assert.equal(formatHttpDate(new Date(Date.UTC(1994, 10, 6, 8, 49, 37))), 'Sun, 06 Nov 1994 08:49:37 GMT');
    assert.equal(formatRetryAfter(9.2), '10');
    assert.equal(formatRetryAfter(-3), '0');
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')?.toISOString(), '1994-11-06T08:49:37.000Z');
  });
});
