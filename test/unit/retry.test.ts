import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RETRY, retryDelay } from '../../src/client/index.ts';

const now = Date.UTC(2026, 10, 24, 12, 0, 0);
const base = { attempt: 1, method: 'GET', requestHeaders: {}, retryAfter: undefined, policy: { ...DEFAULT_RETRY, jitter: 0 }, now, random: () => 0.5 };

describe('retry timing (pure, injected clock)', () => {
  it('429/503 wait what Retry-After says, as delta-seconds or HTTP-date', () => {
    assert.equal(retryDelay({ ...base, status: 429, retryAfter: '47' }), 47_000);
    assert.equal(retryDelay({ ...base, status: 503, retryAfter: new Date(now + 10_000).toUTCString() }), 10_000);
  });
  it('capped at maxDelayMs; jitter never lengthens a server-sent Retry-After', () => {
    const jittery = { ...DEFAULT_RETRY, jitter: 0.2 };
    assert.equal(retryDelay({ ...base, status: 503, retryAfter: '3600' }), 60_000);
    assert.equal(retryDelay({ ...base, status: 503, retryAfter: '10', policy: jittery, random: () => 1 }), 10_000);
    assert.equal(retryDelay({ ...base, status: 503, retryAfter: '3600', policy: jittery, random: () => 1 }), 60_000);
  });
  it('jitter spreads a backoff by at most its share, and the cap still holds after it', () => {
    const jittery = { ...DEFAULT_RETRY, jitter: 0.2 };
    assert.equal(retryDelay({ ...base, status: 503, policy: jittery, random: () => 0 }), 500);
    assert.equal(retryDelay({ ...base, status: 503, policy: jittery, random: () => 1 }), 600);
    assert.equal(retryDelay({ ...base, status: 503, policy: { ...jittery, maxDelayMs: 550 }, random: () => 1 }), 550);
  });
  it('no Retry-After: exponential backoff from baseDelayMs', () => {
    assert.deepEqual([1, 2, 3].map((attempt) => retryDelay({ ...base, status: 503, attempt })), [500, 1000, 2000]);
  });
  it('never: 500, other statuses, past the limit, a POST without an Idempotency-Key', () => {
    assert.equal(retryDelay({ ...base, status: 500 }), undefined);
    assert.equal(retryDelay({ ...base, status: 502 }), undefined);
    assert.equal(retryDelay({ ...base, status: 503, attempt: 4 }), undefined);
    assert.equal(retryDelay({ ...base, status: 503, method: 'POST' }), undefined);
    assert.equal(retryDelay({ ...base, status: 503, method: 'POST', requestHeaders: { 'idempotency-key': 'k' } }), 500);
  });
});
