import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBearerChallenge, parseBearerChallenge } from '../../src/http/www-authenticate.ts';

describe('Bearer challenges (RFC 6750 §3)', () => {
  it('no credentials: realm only, no error parameter (§3.1)', () => {
    assert.equal(formatBearerChallenge({ realm: 'receipt' }), 'Bearer realm="receipt"');
  });
  it('a failed token: error and description, quoted and escaped', () => {
    const v = formatBearerChallenge({ realm: 'receipt', error: 'invalid_token', error_description: 'Token "x" expired' });
    assert.equal(v, 'Bearer realm="receipt", error="invalid_token", error_description="Token \\"x\\" expired"');
    assert.deepEqual(parseBearerChallenge(v), { realm: 'receipt', error: 'invalid_token', error_description: 'Token "x" expired' });
  });
  it('reads token values and ignores other schemes', () => {
    assert.deepEqual(parseBearerChallenge('Basic realm="x", Bearer error=invalid_token'), { error: 'invalid_token' });
    assert.equal(parseBearerChallenge('Basic realm="x"'), undefined);
    assert.equal(parseBearerChallenge(undefined), undefined);
  });
});
