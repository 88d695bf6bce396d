/**
 * Who answers for each failure (docs/status-codes.md, "The first digit says who is responsible"): a 4xx is the client's,
 * a target-named 5xx needs a target that did something, and the gateway's own failures are never a target's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyUpstreamError, FAILURES } from '../../src/gateway/failures.ts';

describe('the failure table keeps the first digit true', () => {
  it('every 4xx is the client’s; every target-side failure is a 502 or 504 named after the target', () => {
    for (const [name, f] of Object.entries(FAILURES)) {
      if (f.status < 500) assert.equal(f.side, 'client', name);
      if (f.side === 'target') {
        assert.ok(f.status === 502 || f.status === 504, name);
        assert.match(f.reason, /^(Target|Deregistration)/, name);
      }
      if (f.side === 'gateway') assert.doesNotMatch(f.reason, /^Target/, name);
    }
  });

  it('network and protocol errors of a target are the target’s', () => {
    assert.equal(classifyUpstreamError({ code: 'ECONNREFUSED' }), FAILURES.connectionRefused);
    assert.equal(classifyUpstreamError({ code: 'ECONNRESET' }), FAILURES.closedMidRequest);
    assert.equal(classifyUpstreamError({ code: 'HPE_INVALID_CONSTANT' }), FAILURES.malformedResponse);
    assert.equal(classifyUpstreamError({ code: 'HPE_HEADER_OVERFLOW' }), FAILURES.headersTooLarge);
    assert.equal(classifyUpstreamError({ code: 'TARGET_HEADERS_TIMEOUT' }), FAILURES.responseTimeout);
    assert.equal(classifyUpstreamError({ code: 'EHOSTUNREACH' }), FAILURES.unreachable);
  });

  it('an error of the gateway’s own making, or one it cannot name, is the gateway’s: 500, never 502', () => {
    for (const e of [{ code: 'ERR_INVALID_CHAR' }, { code: 'ERR_UNESCAPED_CHARACTERS' }, new TypeError('boom'), undefined, { code: 42 }]) {
      const f = classifyUpstreamError(e);
      assert.equal(f.side, 'gateway');
      assert.equal(f.status, 500);
    }
  });
});

it('the gateway answers a problem document only to a client that prefers JSON (negotiated on Accept)', async () => {
  const { prefersJson } = await import('../../src/gateway/error-page.ts');
  const cases: Array<[string | undefined, boolean]> = [
    [undefined, false],
    ['*/*', false],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false], // a browser
    ['application/json', true],
    ['application/problem+json', true],
    ['application/*', true],
    ['text/html;q=0.5, application/json', true],
    ['text/*, application/json;q=0.1', false],
    ['application/json;q=0', false],
    ['image/png', false],
  ];
  for (const [accept, json] of cases) assert.equal(prefersJson(accept), json, String(accept));
});
