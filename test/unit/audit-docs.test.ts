/**
 * docs/audit.md and the rule catalogue agree: every rule has its section under its id with its severity and the
 * source every report prints, and no section describes a rule the audit does not have.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { it } from 'node:test';
import { RULES } from '../../src/audit/index.ts';

const doc = fs.readFileSync('docs/audit.md', 'utf8');
const sections = [...doc.matchAll(/^### `([a-z0-9-]+)`\n\n(error|warning|note) · (.*)$/gm)].map((m) => ({
  id: m[1]!,
  severity: m[2]!,
  // The page links what the report names as a path: [docs/status-codes.md](status-codes.md#…) reads docs/status-codes.md.
  source: m[3]!.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1'),
}));

it('every rule has a section in docs/audit.md with its severity, in the catalogue’s order', () => {
  assert.deepEqual(
    sections.map((s) => [s.id, s.severity]),
    Object.entries(RULES).map(([id, r]) => [id, r.severity]),
  );
});

it('each section cites the source the reports print', () => {
  for (const s of sections) {
    const rule = RULES[s.id as keyof typeof RULES];
    assert.equal(s.source, rule.source, `docs/audit.md, ${s.id}: the source line differs from src/audit/rules.ts`);
  }
});

it('every section under "The rules" is a rule', () => {
  const headings = [...doc.slice(doc.indexOf('## The rules')).matchAll(/^### (.+)$/gm)].map((m) => m[1]);
  assert.equal(headings.length, Object.keys(RULES).length, headings.join(', '));
});
