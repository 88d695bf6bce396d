/**
 * The desync classifier against the test table AWS publishes with http_desync_guardian (test/fixtures), and the
 * action each mode of ALB's desync mitigation takes on each tier.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { classify, classifyParserError, verdict, type RequestHead, type Tier } from '../../src/gateway/desync.ts';

const table = JSON.parse(fs.readFileSync(new URL('../fixtures/desync-cases.json', import.meta.url), 'utf8')) as {
  cases: Array<RequestHead & { id: string; tier: Tier; reason: string }>;
};

describe('desync classification: the guardian’s published cases', () => {
  it(`the table is all there (${table.cases.length} cases, every tier)`, () => {
    assert.ok(table.cases.length >= 150);
    assert.deepEqual(new Set(table.cases.map((c) => c.tier)), new Set(['Compliant', 'Acceptable', 'Ambiguous', 'Severe']));
  });
  for (const c of table.cases) {
    it(`${c.id}: ${c.tier} / ${c.reason}`, () => {
      assert.deepEqual(classify(c), { tier: c.tier, reason: c.reason });
    });
  }
});

describe('desync mitigation modes', () => {
  it('monitor forwards everything; defensive blocks Severe and closes after Ambiguous; strictest blocks all but Compliant', () => {
    const tiers: Tier[] = ['Compliant', 'Acceptable', 'Ambiguous', 'Severe'];
    assert.deepEqual(tiers.map((t) => verdict('monitor', t)), ['forward', 'forward', 'forward', 'forward']);
    assert.deepEqual(tiers.map((t) => verdict('defensive', t)), ['forward', 'forward', 'forward-then-close', 'block']);
    assert.deepEqual(tiers.map((t) => verdict('strictest', t)), ['forward', 'block', 'block', 'block']);
  });

  it("Node's parser refusals are named in the guardian's terms", () => {
    assert.deepEqual(classifyParserError('HPE_INVALID_TRANSFER_ENCODING', "Transfer-Encoding can't be present with Content-Length"), { tier: 'Ambiguous', reason: 'BothTeClPresent' });
    assert.deepEqual(classifyParserError('HPE_UNEXPECTED_CONTENT_LENGTH'), { tier: 'Severe', reason: 'MultipleContentLength' });
    assert.deepEqual(classifyParserError('HPE_INVALID_HEADER_TOKEN'), { tier: 'Severe', reason: 'BadHeader' });
    assert.deepEqual(classifyParserError('ERR_HTTP_REQUEST_TIMEOUT'), { tier: 'Compliant', reason: 'Compliant' });
  });
});
