import assert from 'node:assert/strict';

interface Res {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Asserts an RFC 9457 answer: the status, the media type, `status` in the body equal to it; returns the body. */
export function problem(res: Res, status: number): Record<string, unknown> {
  assert.equal(res.statusCode, status, `expected ${status}, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(typeof body.type, 'string');
  assert.equal(body.request_id, res.headers['x-request-id'], 'the body quotes the request id of the X-Request-Id header');
  return body;
}

/** No stack trace, SQL or internal message in a 5xx body (docs/errors.md). */
export function assertNothingInternal(body: string): void {
  assert.doesNotMatch(body, /at [\w.<>]+ \(|\.ts:\d+|node_modules|SELECT |INSERT |UPDATE |fault injected|Error:/);
}
