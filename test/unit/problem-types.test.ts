/**
 * The problem-type catalogue and docs/errors.md agree: every type documented with its status and members, and no
 * documented type that the catalogue does not have. Then the catalogue is what the answers carry: `problemOf`
 * takes status and title from it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { PROBLEM_TYPES, problemOf, PROBLEM_TYPE_BASE, type ProblemTypeEntry, type ProblemTypeName } from '../../src/http/index.ts';

const doc = fs.readFileSync('docs/errors.md', 'utf8');
/** Rows of the table: `| \`a\` / \`b\` | 409 | when | members |` → [type, status, members cell]. */
const rows = [...doc.matchAll(/^\| ((?:`[a-z-]+`(?: \/ )?)+) \| (\d{3}) \| [^|]+ \| ([^|]+) \|$/gm)].flatMap((m) =>
  [...m[1]!.matchAll(/`([a-z-]+)`/g)].map((t) => ({ type: t[1]!, status: Number(m[2]), members: m[3]! })),
);

describe('docs/errors.md and the catalogue', () => {
  it('the same types with the same statuses', () => {
    const documented = rows.map((r) => `${r.type} ${r.status}`).sort();
    const catalogue = Object.entries(PROBLEM_TYPES).map(([t, e]) => `${t} ${e.status}`).sort();
    assert.deepEqual(documented, catalogue);
  });
  it('every extension member and header field of a type is named in its row', () => {
    for (const r of rows) {
      const e: ProblemTypeEntry = PROBLEM_TYPES[r.type as ProblemTypeName];
      for (const m of e.members ?? []) assert.ok(r.members.includes(`\`${m}\``) || r.members.includes(`\`${m}[]\``), `${r.type}: member ${m} in "${r.members}"`);
      for (const h of e.headers ?? []) assert.ok(r.members.toLowerCase().includes(h.toLowerCase()), `${r.type}: header ${h} in "${r.members}"`);
    }
  });
});

it('problemOf: the status and title come from the catalogue', () => {
  const p = problemOf('validation-failed', { detail: 'quantity: must be positive' }).toProblem('/orders');
  assert.deepEqual(p, { type: `${PROBLEM_TYPE_BASE}validation-failed`, title: 'Validation failed', status: 422, detail: 'quantity: must be positive', instance: '/orders' });
  const nf = problemOf('not-found', { detail: 'x' });
  assert.equal(nf.status, 404);
  assert.equal(nf.toProblem().title, 'Not Found');
});
