/**
 * The JavaScript that `receipt` runs in this repository: src/ transpiled to build/ by esbuild, one file per module
 * (types stripped, nothing else changed; no keepNames wrappers, no bundling), the SQL migrations copied beside
 * them. Node 20 cannot run TypeScript itself, and running it through tsx would transform it in every process the
 * system starts and wrap every named function it calls per request; this runs once, and again only when src/ has
 * changed since (a fingerprint of every file's path, size and modification time, kept in build/.fingerprint).
 *
 * Plain JavaScript on purpose: bin/receipt.js imports it before anything is compiled. `npm run build` is another
 * thing: tsc's dist/ with declarations, for the package.
 *
 *   node scripts/compile.mjs [--force]   compile now if src/ changed (always with --force)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** What the output depends on: each source file's path, size and mtime, this script, and esbuild's version. */
function fingerprint(src, esbuildVersion) {
  const hash = crypto.createHash('sha256').update(esbuildVersion);
  for (const file of [SELF, ...filesUnder(src).map((f) => path.join(src, f))]) {
    const st = fs.statSync(file);
    hash.update(`${file}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function esbuildVersion() {
  const pkg = path.join(ROOT, 'node_modules/esbuild/package.json');
  return fs.existsSync(pkg) ? JSON.parse(fs.readFileSync(pkg, 'utf8')).version : 'missing';
}

/**
 * Transpiles `entries` (TypeScript files) to JavaScript under `outdir`, keeping their layout below `outbase`.
 * Relative imports of `.ts` files are rewritten to `.js`; every import stays an import (nothing is bundled).
 */
export async function transpile({ entries, outbase, outdir }) {
  const esbuild = await import('esbuild');
  try {
    await esbuild.build({
      entryPoints: entries,
      outbase,
      outdir,
      // "bundle" only so that every import passes through the resolver below, which leaves each one external.
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      // Its errors are in the rejection (file:line:column and the message); the caller prints them.
      logLevel: 'silent',
      plugins: [
        {
          name: 'imports-stay-imports',
          setup(build) {
            build.onResolve({ filter: /.*/ }, (args) => {
              if (args.kind === 'entry-point') return undefined;
              const relative = args.path.startsWith('./') || args.path.startsWith('../');
              return { path: relative ? args.path.replace(/\.ts$/, '.js') : args.path, external: true };
            });
          },
        },
      ],
    });
  } finally {
    // esbuild's service is a child process; a long-running `receipt start` should not keep one.
    await esbuild.stop();
  }
}

/**
 * build/ up to date with src/: compiled when missing or stale, else untouched. Safe to call from several processes
 * at once (the test suite starts many): each compiles into a folder of its own and swaps it in with a rename.
 * Returns build/'s URL (with a trailing slash).
 */
export async function ensureBuilt({ force = false, quiet = false } = {}) {
  const src = path.join(ROOT, 'src');
  const out = path.join(ROOT, 'build');
  const stamp = path.join(out, '.fingerprint');
  const wanted = fingerprint(src, esbuildVersion());
  const href = pathToFileURL(`${out}/`).href;
  if (!force && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return href;

  const started = Date.now();
  if (!quiet) process.stderr.write(`… compiling src/ to build/ (${fs.existsSync(stamp) ? 'src/ changed since the last build' : 'first run'})`);
  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const files = filesUnder(src);
  try {
    await transpile({ entries: files.filter((f) => f.endsWith('.ts')).map((f) => path.join(src, f)), outbase: src, outdir: tmp });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!quiet) process.stderr.write(' — failed\n');
    throw e;
  }
  for (const f of files.filter((f) => !f.endsWith('.ts'))) {
    fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
    fs.copyFileSync(path.join(src, f), path.join(tmp, f));
  }
  fs.writeFileSync(path.join(tmp, '.fingerprint'), wanted);
  const old = `${out}.old-${process.pid}`;
  try {
    fs.renameSync(out, old);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  try {
    fs.renameSync(tmp, out);
  } catch (e) {
    // Another process swapped its build in between our two renames: the same sources, so use that one.
    if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.rmSync(old, { recursive: true, force: true });
  if (!quiet) process.stderr.write(` — ${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return href;
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(`usage: node scripts/compile.mjs [--force]

Transpiles src/ to build/ with esbuild when src/ changed since the last build (always with --force): the
JavaScript that bin/receipt.js and \`npm start\` run in this repository. \`npm run build\` makes the package's dist/.`);
    process.exit(0);
  }
  try {
    await ensureBuilt({ force: process.argv.includes('--force') });
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
