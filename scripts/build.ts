/**
 * `npm run build`: the TypeScript in src/ compiled to dist/ (JavaScript and declarations), so an installed package
 * runs without tsx. tsc rewrites relative `.ts` imports to `.js` in the JavaScript (rewriteRelativeImportExtensions)
 * but keeps them in the declarations; those are rewritten here, so a consumer's TypeScript resolves them with any
 * settings. The SQL migrations are copied beside the code that applies them.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: npm run build\n\nCompiles src/ to dist/ (JavaScript + declarations) and copies the migrations. Exits non-zero on a type error.');
  process.exit(0);
}
const started = Date.now();
fs.rmSync('dist', { recursive: true, force: true });
process.stderr.write('… tsc -p tsconfig.build.json\n');
try {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
} catch {
  process.exit(1);
}
let rewritten = 0;
const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
for (const file of walk('dist').filter((f) => f.endsWith('.d.ts'))) {
  const text = fs.readFileSync(file, 'utf8');
  const fixed = text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, (_m, lead: string, q: string, spec: string) => `${lead}${q}${spec}.js${q}`);
  if (fixed !== text) {
    fs.writeFileSync(file, fixed);
    rewritten++;
  }
}
fs.cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
process.stderr.write(`dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s (${rewritten} declaration files' imports rewritten to .js)\n`);
