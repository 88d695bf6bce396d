import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpProblem, isProblem, PROBLEM_TYPE_BASE } from '../../src/http/problem.ts';

describe('problem details (RFC 9457)', () => {
  it('status in the body equals the response status; title defaults to the reason phrase', () => {
    const p = new HttpProblem(422, { detail: 'bad', extensions: { errors: [{ field: 'quantity', message: 'x' }] } });
    const body = p.toProblem('/orders');
    assert.equal(body.status, 422);
    assert.equal(body.title, 'Unprocessable Content'); // RFC 9110's name
    assert.equal(body.type, PROBLEM_TYPE_BASE + 'unprocessable-content');
    assert.equal(body.instance, '/orders');
    assert.deepEqual(body.errors, [{ field: 'quantity', message: 'x' }]);
    assert.ok(isProblem(body));
    assert.ok(!isProblem({ error: 'x' }));
  });
});
