import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendForwardedFor, forwardedHost, traceId } from '../../src/gateway/headers.ts';

describe('headers the gateway writes (AWS, "HTTP headers and Application Load Balancers")', () => {
  it('Host: lower-cased, the listener port added, default ports stripped', () => {
    assert.equal(forwardedHost('Shop.Localhost', 'http', 8080), 'shop.localhost:8080');
    assert.equal(forwardedHost('shop.localhost:80', 'http', 8080), 'shop.localhost');
    assert.equal(forwardedHost('shop.localhost', 'https', 443), 'shop.localhost');
    assert.equal(forwardedHost('shop.localhost:8443', 'https', 8443), 'shop.localhost:8443');
    assert.equal(forwardedHost(undefined, 'http', 80), undefined);
  });
  it('X-Forwarded-For appends; X-Amzn-Trace-Id keeps Root and custom fields, replaces Self', () => {
    assert.equal(appendForwardedFor(undefined, '1.2.3.4'), '1.2.3.4');
    assert.equal(appendForwardedFor('5.6.7.8', '1.2.3.4'), '5.6.7.8, 1.2.3.4');
    const now = Date.UTC(2026, 0, 1);
    assert.match(traceId(undefined, now), /^Root=1-6955b900-[0-9a-f]{24}$/);
    assert.match(traceId('Self=1-1-x;Root=1-67891233-abcdef012345678912345678;Custom=a', now), /^Self=1-6955b900-[0-9a-f]{24};Root=1-67891233-abcdef012345678912345678;Custom=a$/);
  });
});
