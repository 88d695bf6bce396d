/**
 * The sample video: 50 MiB (52428800 bytes) of deterministic bytes, written once under DATA_DIR in
 * 1 MiB chunks (never whole in memory), so range answers can be byte-compared with the file.
 */
import fs from 'node:fs';
import path from 'node:path';

export const MOVIE_SIZE = 50 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** Chunk i of the sample: xorshift32 seeded by i, so every offset has known, non-repeating-looking bytes. */
export function sampleChunk(i: number, size = CHUNK): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = (i + 1) * 2654435761 >>> 0 || 1;
  for (let o = 0; o + 4 <= size; o += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, o);
  }
  return buf;
}

export async function ensureSampleVideo(dir: string, size = MOVIE_SIZE): Promise<string> {
  const file = path.join(dir, 'movie.mp4');
  if (fs.existsSync(file) && fs.statSync(file).size === size) return file;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const out = fs.createWriteStream(tmp);
  for (let i = 0, written = 0; written < size; i++) {
    const n = Math.min(CHUNK, size - written);
    if (!out.write(sampleChunk(i, n))) await new Promise<void>((r) => out.once('drain', () => r()));
    written += n;
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
  fs.renameSync(tmp, file); // atomic: a reader never sees half a file
  return file;
}
