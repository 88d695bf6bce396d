/**
 * How a second terminal finds a running system: `receipt start` and `receipt gateway` write their control plane's
 * address and token to DATA_DIR/control.json (readable by the owner only: the token is a password) and remove it
 * when they stop cleanly. The CLI's control commands read it, so they need no flags. A file whose process is gone
 * (a crash, a SIGKILL) stays behind; readers tell it apart from a live one by the pid and by asking the address.
 */
import fs from 'node:fs';
import path from 'node:path';

export const CONTROL_FILE = 'control.json';

export interface ControlFile {
  /** The control plane's base URL. */
  url: string;
  token: string;
  /** The process that serves it. */
  pid: number;
  /** The whole system (`receipt start`) or the gateway alone (`receipt gateway`, no target processes of its own). */
  kind: 'system' | 'gateway';
  started_at: string;
}

export function controlFilePath(dataDir: string): string {
  return path.join(dataDir, CONTROL_FILE);
}

/** Written whole or not at all (a reader never sees half a file): a private temporary file, renamed over the old one. */
export function writeControlFile(dataDir: string, c: Omit<ControlFile, 'pid' | 'started_at'>): string {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = controlFilePath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  const doc: ControlFile = { ...c, pid: process.pid, started_at: new Date().toISOString() };
  fs.writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

/** Removes the file if this process wrote it: a newer system on the same DATA_DIR keeps its own. */
export function removeControlFile(dataDir: string): void {
  const file = controlFilePath(dataDir);
  try {
    if (readControlFile(dataDir)?.pid === process.pid) fs.rmSync(file, { force: true });
  } catch {
    // Already gone, or not ours to judge: nothing to remove.
  }
}

/** The file's contents, undefined when there is none; a file that is not ours to parse is an Error. */
export function readControlFile(dataDir: string): ControlFile | undefined {
  const file = controlFilePath(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  let doc: Partial<ControlFile>;
  try {
    doc = JSON.parse(text) as Partial<ControlFile>;
  } catch {
    throw new Error(`${file} is not JSON`);
  }
  if (typeof doc.url !== 'string' || typeof doc.token !== 'string' || !Number.isInteger(doc.pid)) throw new Error(`${file} lacks url, token or pid`);
  return doc as ControlFile;
}

/** Whether a process with this pid exists (signal 0 checks without sending; EPERM means it exists but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
