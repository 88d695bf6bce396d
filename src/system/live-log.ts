/**
 * What `receipt start` and `receipt gateway` print while they run. Two renderings of the same events:
 *
 * - `pretty` (a terminal): one short line per request as the client saw it at the gateway, its status coloured by
 *   who answered — a target (2xx/3xx green, 5xx red), the client's fault (4xx yellow), or the gateway itself (a 5xx
 *   with no target status: magenta; its redirects and fixed responses: cyan) — and one line per change of a
 *   target's health state, not per check. Services' warnings and errors show as one readable line each; their
 *   routine per-request lines are left out, the gateway's line already says it.
 * - `json` (a pipe, a log collector): pino lines, each request's carrying its `reqId`.
 *
 * `quiet` keeps errors only: no request lines, no health lines.
 */
import type { DestinationStream } from 'pino';
import type { AccessRecord } from '../gateway/access-log.ts';
import type { Gateway } from '../gateway/gateway.ts';
import type { Target, TargetState } from '../gateway/cluster/target-group.ts';
import { createLogger, type Logger } from '../log.ts';

export type LogFormat = 'pretty' | 'json';

type Paint = (s: string) => string;
/** The colours used (the CLI's terminal style: none under NO_COLOR or off a terminal). */
export interface LiveStyle {
  bold: Paint;
  dim: Paint;
  red: Paint;
  yellow: Paint;
  green: Paint;
  magenta: Paint;
  cyan: Paint;
}

export interface LiveLogOptions {
  format: LogFormat;
  quiet?: boolean;
  style: LiveStyle;
  /** JSON only: also a line per request from the gateway (`receipt gateway`, whose targets log nothing here). */
  accessJson?: boolean;
  /** The level of the JSON lines the gateway writes itself (health changes, requests). */
  level?: string;
  out?: { write(s: string): unknown };
}

/** pino's numeric levels, as the services write them. */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** `GET http://host:port/path?q HTTP/1.1` → method and the path as the client asked for it. */
function methodAndPath(request: string): { method: string; path: string } {
  const [method = '-', url = '-'] = request.split(' ');
  const path = url.replace(/^[a-z]+:\/\/[^/]*/i, '') || '/';
  return { method, path: path.length > 80 ? `${path.slice(0, 79)}…` : path };
}

const clock = (t: number | Date) => new Date(t).toTimeString().slice(0, 8);

/** `receipt start` names its targets after their group (shop-1); `receipt gateway` by address, so the group says which. */
const display = (group: string, id: string) => (id.startsWith(group) ? id : `${group} ${id}`);

export class LiveLog {
  readonly format: LogFormat;
  readonly quiet: boolean;
  readonly #style: LiveStyle;
  readonly #accessJson: boolean;
  readonly #out: { write(s: string): unknown };
  readonly #json: Logger | undefined;
  readonly #gateways: Gateway[] = [];
  /** Target address → its name, for naming who answered (rebuilt when a target's state changes). */
  #names = new Map<string, string>();

  constructor(o: LiveLogOptions) {
    this.format = o.format;
    this.quiet = o.quiet ?? false;
    this.#style = o.style;
    this.#accessJson = o.accessJson ?? false;
    this.#out = o.out ?? process.stdout;
    if (o.format === 'json') this.#json = createLogger(this.quiet ? 'error' : (o.level ?? 'info'), 'gateway', this.#out as DestinationStream);
  }

  /** Whether services' log lines should come here (to be made readable) rather than straight to stdout. */
  get wantsServiceLines(): boolean {
    return this.format === 'pretty';
  }

  /** Follows a gateway's targets: every health-state change of every target group, as it happens. */
  attach(gateway: Gateway): void {
    this.#gateways.push(gateway);
    for (const group of gateway.groups.values()) group.onStateChange((t, from) => this.stateChange(group.name, t, from));
  }

  /** One request, as the gateway answered it (called when its access record is made). */
  access(r: AccessRecord): void {
    // This runs for every request: nothing is worked out for a line that will not be printed.
    if (this.quiet || (this.#json && !this.#accessJson)) return;
    const ms = Date.now() - r.requestCreationTime.getTime();
    const { method, path } = methodAndPath(r.request);
    const by = r.targetStatusCode !== undefined ? 'target' : 'gateway';
    if (this.#json) {
      this.#json.info(
        { reqId: r.requestId, method, path, status: r.elbStatusCode, answeredBy: by, target: r.target, targetStatus: r.targetStatusCode, errorReason: r.errorReason, ms, client: r.client },
        'request',
      );
      return;
    }
    const target = r.target === undefined ? undefined : this.#name(r.target);
    const s = this.#style;
    const status = r.elbStatusCode;
    const paint = status >= 500 ? (by === 'gateway' ? s.magenta : s.red) : status >= 400 ? s.yellow : by === 'target' ? s.green : s.cyan;
    let who: string;
    if (by === 'target') who = target ?? '-';
    else {
      const what = r.errorReason ?? (r.actionsExecuted.includes('redirect') ? 'redirect' : r.actionsExecuted.includes('fixed-response') ? 'fixed response' : '');
      who = `gateway${what ? ` ${what}` : ''}${target ? ` (${target})` : ''}`;
    }
    const id = r.requestId ? `  ${s.dim(r.requestId)}` : '';
    this.#write(`${s.dim(clock(r.time))}  ${paint(String(status))}  ${method} ${path}  ${paint(who)}  ${ms} ms${id}`);
  }

  /** A target's health state changed (healthy → unhealthy, draining, …): the reason, and what the last check saw. */
  stateChange(group: string, t: Target, from: TargetState): void {
    this.#names = new Map();
    if (this.quiet) return;
    const check = t.lastCheck;
    const saw = t.state === 'unhealthy' && check ? (check.status !== undefined ? `health check answered ${check.status}` : `health check: ${check.error}`) : undefined;
    if (this.#json) {
      const fields = { group, target: t.id, address: t.address, from, to: t.state, reason: t.reason, ...(saw ? { check: { status: check!.status, error: check!.error } } : {}) };
      if (t.state === 'unhealthy') this.#json.warn(fields, `target ${t.id} ${t.state}`);
      else this.#json.info(fields, `target ${t.id} ${t.state}`);
      return;
    }
    const s = this.#style;
    const paint = t.state === 'healthy' ? s.green : t.state === 'unhealthy' ? s.red : s.yellow;
    this.#write(`${s.dim(clock(Date.now()))}  ${s.bold(display(group, t.id))}  ${from} → ${paint(t.state)}  ${s.dim(t.reason)}${saw ? s.dim(` (${saw})`) : ''}`);
  }

  /** One line a service (a shop target, the payment sandbox, the control plane) logged: JSON from pino, or not. */
  service(name: string, line: string): void {
    if (this.format === 'json') {
      this.#out.write(line.endsWith('\n') ? line : `${line}\n`);
      return;
    }
    let entry: { level?: number; time?: number; msg?: string; reqId?: string; err?: { message?: string }; res?: { statusCode?: number } };
    try {
      entry = JSON.parse(line);
    } catch {
      // Not a log line (a library writing to stdout): shown as it is, named.
      if (!this.quiet && line.trim()) this.#write(`${this.#style.dim(name)}  ${line.trimEnd()}`);
      return;
    }
    const level = entry.level ?? 30;
    if (this.quiet && level < 50) return;
    // A target's routine line per request says what the gateway's line for it already said.
    if (level < 40 && entry.res !== undefined) return;
    const s = this.#style;
    const label = LEVELS[level] ?? String(level);
    const paint = level >= 50 ? s.red : level >= 40 ? s.yellow : s.dim;
    const err = entry.err?.message && entry.err.message !== entry.msg ? `: ${entry.err.message}` : '';
    const id = entry.reqId ? `  ${s.dim(entry.reqId)}` : '';
    this.#write(`${s.dim(clock(entry.time ?? Date.now()))}  ${paint(label)}  ${s.bold(name)}  ${entry.msg ?? ''}${err}${id}`);
  }

  /** A pino destination for a logger of this process (the control plane's) that writes through here. */
  destination(name: string): DestinationStream {
    return { write: (line: string) => this.service(name, line) };
  }

  #name(address: string): string {
    let id = this.#names.get(address);
    if (id === undefined) {
      for (const g of this.#gateways) for (const group of g.groups.values()) for (const t of group.targets) this.#names.set(t.address, display(group.name, t.id));
      id = this.#names.get(address) ?? address;
    }
    return id;
  }

  #write(line: string): void {
    this.#out.write(`${line}\n`);
  }
}
