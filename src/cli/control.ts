/**
 * The control plane from a second terminal: `receipt targets`, `kill | start | drain TARGET`, `faults [set | clear]`
 * (and `deploy`, deploy.ts). Each finds the running system through the control file it wrote in its data directory
 * (src/control/control-file.ts), so no flag is needed; --url / --token (or CONTROL_URL / CONTROL_TOKEN) and
 * --data-dir override it.
 */
import path from 'node:path';
import { request } from 'undici';
import { CONTROL_FILE, controlFilePath, processAlive, readControlFile } from '../control/control-file.ts';
import type { Style } from './style.ts';

/** A failure the user can act on: printed as one line after the command's name, exit 1. */
export class ControlError extends Error {
  override name = 'ControlError';
}

export interface ConnectionOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  /** `receipt deploy`'s older spellings of --url and --token. */
  controlUrl?: string;
  controlToken?: string;
}

export interface Connection {
  url: string;
  token: string;
}

/** Where a system started in this folder keeps its control file: `receipt start`'s data directory, then `receipt gateway`'s. */
const DEFAULT_DIRS = ['./.receipt', './.receipt/gateway'];

/** Whether anything answers HTTP at the control plane's address (any status: a system still starting says 503). */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await request(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    await res.body.dump();
    return true;
  } catch {
    return false;
  }
}

/**
 * The control plane to talk to: --url and --token (commander fills them from CONTROL_URL and CONTROL_TOKEN), else
 * the first data directory whose control file belongs to a live system. Fails with where it looked and how to start one.
 */
export async function connect(opts: ConnectionOptions): Promise<Connection> {
  // The older spellings have no variable of their own: given, they were typed, and beat --url filled from CONTROL_URL.
  const url = opts.controlUrl ?? opts.url;
  const token = opts.controlToken ?? opts.token;
  if (url && token) return { url: url.replace(/\/+$/, ''), token };
  // Another system's token would not do: an address given needs its own.
  if (url) throw new ControlError(`--url ${url} needs --token (or CONTROL_TOKEN): the token \`receipt start\` printed`);
  const dirs = opts.dataDir ? [opts.dataDir] : DEFAULT_DIRS;
  const stale: string[] = [];
  for (const dir of dirs) {
    const file = controlFilePath(path.resolve(dir));
    let found;
    try {
      found = readControlFile(path.resolve(dir));
    } catch (e) {
      stale.push(`${(e as Error).message}`);
      continue;
    }
    if (!found) continue;
    if (!processAlive(found.pid)) stale.push(`${file} is stale: the process that wrote it (pid ${found.pid}) is gone`);
    else if (!(await answers(found.url))) stale.push(`${file} is stale: nothing answers at ${found.url} though a process ${found.pid} exists (another program may have that number now)`);
    else return { url: found.url, token: token ?? found.token };
  }
  const how = 'start one with `receipt start` (or `receipt gateway`), or pass --url and --token';
  if (stale.length) throw new ControlError(`no running system: ${stale.join('; ')}; ${how}`);
  throw new ControlError(`no running system found: no ${CONTROL_FILE} in ${dirs.map((d) => path.resolve(d)).join(' or ')}; ${how}${opts.dataDir ? '' : ' (or --data-dir DIR)'}`);
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One control-plane call; a refused connection and any 4xx/5xx become a ControlError with the problem's detail. */
export async function call(c: Connection, method: 'GET' | 'POST' | 'PUT' | 'DELETE', route: string, body?: unknown, o: { absent?: string } = {}): Promise<Answer> {
  let res;
  try {
    res = await request(c.url + route, {
      method,
      headers: { authorization: `Bearer ${c.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new ControlError(`no control plane answers at ${c.url} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is the system still running?`);
  }
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: kept as text for the message below.
  }
  if (res.statusCode >= 400) {
    const p = (parsed ?? {}) as { title?: string; detail?: string; errors?: Array<{ field?: string; message?: string }> };
    // A control plane without the route at all: `absent` says why a system would lack it.
    const why = (res.statusCode === 404 && /^This control plane has no /.test(p.detail ?? '') && o.absent) || p.detail || p.title || String(text).slice(0, 200);
    const fields = p.errors?.length ? ` (${p.errors.map((x) => [x.field, x.message].filter(Boolean).join(' ')).join('; ')})` : '';
    throw new ControlError(`${res.statusCode} — ${why}${fields}`);
  }
  return { status: res.statusCode, headers: res.headers as Answer['headers'], body: parsed };
}

/** A target as GET /targets describes it. */
export interface TargetView {
  id: string;
  target_group: string | null;
  url: string | null;
  state: string;
  reason: string;
  process: 'running' | 'stopped' | 'external';
  version?: string;
  pid: number | null;
  in_flight: number;
  last_health_check: { status?: number; error?: string; at: string } | null;
  former_names?: string[];
}

/** Columns padded by their plain text, then coloured: escape codes take no room on screen. */
export function table(rows: Array<Array<[text: string, paint?: (s: string) => string]>>, head: string[], style: Style): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]![0].length)));
  const line = (cells: Array<[string, ((s: string) => string)?]>) =>
    cells
      .map(([text, paint], i) => {
        const padded = i === cells.length - 1 ? text : text.padEnd(widths[i]!);
        return paint ? paint(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [style.bold(line(head.map((h) => [h]))), ...rows.map(line)].join('\n');
}

const stateColour = (style: Style, state: string) =>
  state === 'healthy' ? undefined : state === 'unhealthy' ? style.red : state === 'unused' ? style.dim : style.yellow;

export function targetsTable(targets: TargetView[], style: Style): string {
  if (targets.length === 0) return 'no targets';
  const rows = targets.map((t): Array<[string, ((s: string) => string)?]> => {
    const check = t.last_health_check;
    return [
      [t.id + (t.former_names?.length ? ` (was ${t.former_names.join(', ')})` : '')],
      [t.url ? t.url.replace(/^\w+:\/\//, '') : '-'],
      [t.target_group ?? '-'],
      [t.state, stateColour(style, t.state)],
      [t.reason, style.dim],
      [String(t.in_flight)],
      [t.process === 'running' ? `running, pid ${t.pid}` : t.process, t.process === 'stopped' ? style.red : undefined],
      [t.version ?? '-'],
      [check ? String(check.status ?? check.error ?? '-') : '-'],
    ];
  });
  return table(rows, ['TARGET', 'ADDRESS', 'GROUP', 'STATE', 'REASON', 'IN FLIGHT', 'PROCESS', 'VERSION', 'LAST CHECK'], style);
}

export async function runTargetsCommand(opts: ConnectionOptions & { json?: boolean }, style: Style): Promise<number> {
  const c = await connect(opts);
  const targets = (await call(c, 'GET', '/targets')).body as TargetView[];
  console.log(opts.json ? JSON.stringify(targets, null, 2) : targetsTable(targets, style));
  return 0;
}

export type TargetAction = 'kill' | 'start' | 'drain';

/** What happens next, after each action: the gateway learns of a killed or started process by its health checks. */
const NEXT: Record<TargetAction, (id: string) => string> = {
  kill: () => 'killed (SIGKILL, as a crash); the gateway takes it out of rotation once its health checks fail',
  start: () => 'started; the gateway sends it requests once its health checks pass',
  drain: (id) => `draining: no new requests; those in flight may finish until the deregistration delay ends (\`receipt start ${id}\` registers it again)`,
};

export async function runTargetAction(action: TargetAction, name: string, opts: ConnectionOptions & { json?: boolean }, style: Style): Promise<number> {
  const c = await connect(opts);
  const t = (await call(c, 'POST', `/targets/${encodeURIComponent(name)}/${action}`)).body as TargetView;
  if (opts.json) {
    console.log(JSON.stringify(t, null, 2));
    return 0;
  }
  // The control plane followed a name a deployment replaced: say which target that is now.
  if (t.id !== name) console.log(`${name} was replaced by ${t.id} in a deployment; ${t.id} is what ${name} means now`);
  console.log(`${t.id}: ${NEXT[action](t.id)}`);
  console.log(style.dim(`  gateway: ${t.state} (${t.reason}) · process: ${t.process === 'running' ? `running, pid ${t.pid}` : t.process}   \`receipt targets\` shows it change`));
  return 0;
}

/** Runs a control command: its exit code, or a ControlError as one line (`receipt kill: 404 — No target …`) and 1. */
export async function runControl(name: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    console.error(`receipt ${name}: ${e.message}`);
    return 1;
  }
}
