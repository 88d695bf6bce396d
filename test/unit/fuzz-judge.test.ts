/** The fuzzer's judge: each rule catches what it is about (a rule that cannot fail would prove nothing). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, type FuzzRequest } from '../../src/scenarios/fuzz.ts';

const op = { method: 'POST', path: '/orders', statuses: new Set([201, 400, 401, 422, 500, 503]), pathParams: {}, query: {}, secured: true };
const req: FuzzRequest = { op: 'POST /orders', method: 'POST', path: '/orders', headers: {} };
const problem = (status: number) => JSON.stringify({ type: 'https://receipt.localhost/problems/x', title: 'X', status, detail: 'd' });
const rules = (status: number, type: string, body: string, r = req) => judge(op, r, status, type, body).map((f) => f.rule);

describe('fuzz judge', () => {
  it('passes a documented problem and a documented success', () => {
    assert.deepEqual(rules(422, 'application/problem+json', problem(422)), []);
    assert.deepEqual(rules(201, 'application/json', '{"id":1}'), []);
  });
  it('a 5xx breaks no-5xx, even when documented', () => {
    assert.deepEqual(rules(500, 'application/problem+json', problem(500)), ['no-5xx']);
  });
  it('a 4xx that is not a problem document, or whose status disagrees', () => {
    assert.deepEqual(rules(400, 'application/json', '{"error":"Bad Request"}'), ['problem-body']);
    assert.deepEqual(rules(400, 'application/problem+json', problem(422)), ['problem-body']);
  });
  it('stack frames, SQL and driver messages are internal', () => {
    assert.ok(rules(400, 'application/problem+json', problem(400).replace('"d"', '"at Object.<anonymous> (/app/src/x.ts:10:5)"')).includes('nothing-internal'));
    assert.ok(rules(422, 'application/problem+json', problem(422).replace('"d"', '"SELECT id FROM orders WHERE x"')).includes('nothing-internal'));
    assert.ok(rules(422, 'application/problem+json', problem(422).replace('"d"', '"duplicate key value violates unique constraint"')).includes('nothing-internal'));
  });
  it('a status the document does not list, unless HTTP allows it anywhere (304 to a conditional GET, 206 to a range)', () => {
    assert.deepEqual(rules(404, 'application/problem+json', problem(404)), ['documented-status']);
    const get = { ...op, method: 'GET', statuses: new Set([200]) };
    assert.deepEqual(judge(get, { ...req, method: 'GET', headers: { 'if-none-match': '"a"' } }, 304, '', '').map((f) => f.rule), []);
    assert.deepEqual(judge(get, { ...req, method: 'GET' }, 304, '', '').map((f) => f.rule), ['documented-status']);
  });
});
