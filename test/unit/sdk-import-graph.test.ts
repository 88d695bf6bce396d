/**
 * The SDK ships alone: everything `receipt/client` loads — followed import by import from its entry — lies in
 * src/client/ or src/http/, and the only packages it needs are undici and Node's own modules. Nothing of the
 * server (Fastify, pg, the shop, the gateway) can slip in through a re-export.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = fs.readFileSync(file, 'utf8');
    // Static imports and re-exports, type-only ones included (they still make the declarations depend on it).
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
      else packages.add(spec.startsWith('node:') ? 'node:' : spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
    }
  };
  visit(path.resolve(entry));
  return { files, packages };
}

describe('the SDK’s import graph', () => {
  it('stays inside src/client and src/http, on undici and node: only', () => {
    const { files, packages } = graph('src/client/index.ts');
    const outside = [...files].map((f) => path.relative(process.cwd(), f)).filter((f) => !f.startsWith('src/client/') && !f.startsWith('src/http/'));
    assert.deepEqual(outside, []);
    assert.deepEqual([...packages].sort(), ['node:', 'undici']);
    assert.ok(files.size >= 6, `${files.size} files followed`);
  });

  it('the walk would notice a server import (a check that cannot fail proves nothing)', () => {
    const { files } = graph('src/system/gateway-only.ts');
    assert.ok([...files].some((f) => f.includes('src/control/')));
  });
});
