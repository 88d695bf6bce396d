/**
 * docs/audit.md and the rule catalogue agree: every rule has its section under its id with its severity, and no
 * section describes a rule the audit does not have.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { it } from 'node:test';
import { RULES } from '../../src/audit/index.ts';

const doc = fs.readFileSync('docs/audit.md', 'utf8');
const sections = [...doc.matchAll(/^### `([a-z0-9-]+)`\n\n(error|warning|note) · /gm)].map((m) => [m[1]!, m[2]!] as const);

it('every rule has a section in docs/audit.md with its severity, in the catalogue’s order', () => {
  assert.deepEqual(
    sections,
    Object.entries(RULES).map(([id, r]) => [id, r.severity]),
  );
});

it('every section under "The rules" is a rule', () => {
  const headings = [...doc.slice(doc.indexOf('## The rules')).matchAll(/^### (.+)$/gm)].map((m) => m[1]);
  assert.equal(headings.length, Object.keys(RULES).length, headings.join(', '));
});
