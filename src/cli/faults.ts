/**
 * `receipt faults`: the fault document of a running system (GET /faults), `set KEY=VALUE…` (PUT, merged into what is
 * in force) and `clear` (DELETE). Values take the types of the control plane's own schema for the document, so the
 * keys, their types and their ranges are written once, in src/control/server.ts.
 */
import { FaultSchema } from '../control/server.ts';
import { call, connect, ControlError, table, type ConnectionOptions } from './control.ts';
import type { Style } from './style.ts';

interface Field {
  type?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  readOnly?: boolean;
}

const fields = FaultSchema.properties as unknown as Record<string, Field>;

/** The keys `set` takes: the document's fields but the read-only ones (GET adds them). */
export const FAULT_KEYS = Object.keys(fields).filter((k) => !fields[k]!.readOnly);

function kind(f: Field): string {
  const range = f.minimum !== undefined && f.maximum !== undefined ? ` ${f.minimum}–${f.maximum}` : '';
  return f.type === 'boolean' ? 'true|false' : f.type === 'integer' ? `integer${range}` : f.type === 'number' ? `number${range}` : 'text';
}

/** `payment_latency_ms (integer 0–600000), …`: for --help and for the error an unknown key gets. */
export function describeFaultKeys(): string {
  return FAULT_KEYS.map((k) => `${k} (${kind(fields[k]!)})`).join(', ');
}

const TRUE = ['true', 'on', 'yes', '1'];
const FALSE = ['false', 'off', 'no', '0'];

/** `KEY=VALUE` arguments → the fault document to PUT; any argument it cannot take is a ControlError naming it. */
export function parseFaultAssignments(args: string[]): Record<string, boolean | number | string> {
  if (args.length === 0) throw new ControlError(`set needs at least one KEY=VALUE; the keys: ${describeFaultKeys()}`);
  const doc: Record<string, boolean | number | string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 1) throw new ControlError(`"${arg}" is not KEY=VALUE, e.g. db_pool_exhausted=true`);
    const key = arg.slice(0, eq);
    const raw = arg.slice(eq + 1);
    const f = fields[key];
    if (!f || f.readOnly) throw new ControlError(`unknown fault "${key}"; the keys: ${describeFaultKeys()}`);
    const bad = () => new ControlError(`${key} takes ${kind(f)}, not "${raw}"`);
    let value: boolean | number | string;
    if (f.type === 'boolean') {
      if (TRUE.includes(raw.toLowerCase())) value = true;
      else if (FALSE.includes(raw.toLowerCase())) value = false;
      else throw bad();
    } else if (f.type === 'integer' || f.type === 'number') {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n) || (f.type === 'integer' && !Number.isInteger(n))) throw bad();
      if ((f.minimum !== undefined && n < f.minimum) || (f.maximum !== undefined && n > f.maximum)) throw bad();
      value = n;
    } else {
      if (f.minLength !== undefined && raw.length < f.minLength) throw bad();
      value = raw;
    }
    doc[key] = value;
  }
  return doc;
}

interface FaultView {
  payment_breaker?: Record<string, { state: string; half_open_at?: string; changed_at: string }>;
  not_yet_applied_by?: string[];
  [key: string]: unknown;
}

export function formatFaults(doc: FaultView, style: Style): string {
  const { payment_breaker: breakers = {}, not_yet_applied_by: behind, ...faults } = doc;
  const set = Object.entries(faults);
  const lines = set.length
    ? [table(set.map(([k, v]) => [[k], [JSON.stringify(v), style.yellow]]), ['FAULT', 'VALUE'], style)]
    : ['no faults in force' + style.dim(`   (receipt faults set KEY=VALUE; the keys: ${FAULT_KEYS.join(', ')})`)];
  const b = Object.entries(breakers);
  if (b.length) {
    lines.push('', style.bold('payment breakers') + '  ' + b.map(([id, x]) => `${id} ${x.state === 'closed' ? x.state : style.red(x.state)}${x.half_open_at ? ` (half-open at ${x.half_open_at.slice(11, 19)})` : ''}`).join(' · '));
  }
  if (behind?.length) lines.push(style.yellow(`not yet applied by ${behind.join(', ')}`));
  return lines.join('\n');
}

export async function runFaultsCommand(
  what: { show: true } | { set: string[] } | { clear: true },
  opts: ConnectionOptions & { json?: boolean },
  style: Style,
): Promise<number> {
  // Bad arguments are told before anything is looked up.
  const doc = 'set' in what ? parseFaultAssignments(what.set) : undefined;
  const c = await connect(opts);
  const absent = { absent: 'this system has no fault document: faults act on the shop, and `receipt gateway` runs none (`receipt start` does)' };
  if ('clear' in what) {
    await call(c, 'DELETE', '/faults', undefined, absent);
    if (opts.json) console.log(JSON.stringify((await call(c, 'GET', '/faults')).body, null, 2));
    else console.log('faults cleared: every process follows an empty fault document');
    return 0;
  }
  const answer = doc ? await call(c, 'PUT', '/faults', doc, absent) : await call(c, 'GET', '/faults', undefined, absent);
  console.log(opts.json ? JSON.stringify(answer.body, null, 2) : formatFaults(answer.body as FaultView, style));
  return 0;
}
