#!/usr/bin/env node
// The `receipt` command runs JavaScript, in every process it starts: no TypeScript transform at run time. In this
// repository that is src/ compiled to build/ (scripts/compile.mjs: esbuild, under a second, only when src/ changed
// since the last run); an installed package has no src/ and runs the dist/ that `npm pack` built with tsc.
import fs from 'node:fs';

if (fs.existsSync(new URL('../src/', import.meta.url))) {
  const { ensureBuilt } = await import('../scripts/compile.mjs');
  const built = await ensureBuilt().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
  await import(new URL('cli/main.js', built).href);
} else {
  await import('../dist/cli/main.js');
}
