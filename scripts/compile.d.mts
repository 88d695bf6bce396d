/** Types for scripts/compile.mjs (plain JavaScript, so bin/receipt.js can import it before anything is compiled). */
export function transpile(o: { entries: string[]; outbase: string; outdir: string }): Promise<void>;
export function ensureBuilt(o?: { force?: boolean; quiet?: boolean }): Promise<string>;
