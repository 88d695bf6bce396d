/**
 * One access-log line per request, in ALB's field order (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html): space-separated, quoted where ALB quotes,
 * `-` for an absent value and `-1` for a time that could not be measured. Written to a file under DATA_DIR and,
 * optionally, to stdout as JSON.
 */
import fs from 'node:fs';
import path from 'node:path';

/** ALB's `type` field: the client connection's protocol; `ws`/`wss` for an upgraded WebSocket connection. */
export type ConnectionType = 'http' | 'https' | 'h2' | 'ws' | 'wss';

export interface AccessRecord {
  type: ConnectionType;
  time: Date;
  client: string;
  /** `ip:port` of the target that got the request, or undefined. */
  target?: string;
  requestProcessingTime: number;
  targetProcessingTime: number;
  responseProcessingTime: number;
  elbStatusCode: number;
  /** undefined when no target answered: logged as `-`. */
  targetStatusCode?: number;
  receivedBytes: number;
  sentBytes: number;
  /** `METHOD scheme://host:port/path?query HTTP/1.1` */
  request: string;
  userAgent: string;
  targetGroup: string;
  traceId: string;
  /** The X-Request-Id the gateway sent on (the client's, or the trace's Root); undefined before routing. Not an ALB field. */
  requestId?: string;
  domainName: string;
  /** The TLS connection's negotiated cipher (OpenSSL's name) and protocol, as ALB logs them; absent on plain HTTP. */
  sslCipher?: string;
  sslProtocol?: string;
  /** 1–50000 for a rule, 0 for the default rule, -1 for an error while evaluating, undefined → `-`. */
  matchedRulePriority?: number;
  requestCreationTime: Date;
  actionsExecuted: string[];
  redirectUrl?: string;
  errorReason?: string;
  /** Desync mitigation: the tier and reason of a request that is not Compliant (`-` when it is). */
  classification?: string;
  classificationReason?: string;
  /** ALB's connection traceability id: one opaque value per client connection, shared by its requests. */
  connTraceId?: string;
  /** What a rule's transforms made of the Host and the URL; `-` when none applied. */
  transformedHost?: string;
  transformedUri?: string;
  requestTransformStatus?: string;
}

const FLUSH_MS = 100;
const FLUSH_BYTES = 64 * 1024;

const TLS_TYPES: ReadonlySet<ConnectionType> = new Set(['https', 'h2', 'wss']);
// Most fields hold no quote: escape only when one is there (this runs for ten fields of every line).
// A quote or a backslash inside a quoted field is escaped with a backslash, so the field ends where it should.
const q = (s: string) => (s.includes('"') || s.includes('\\') ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`);
const time = (n: number) => (n < 0 ? '-1' : n.toFixed(3));

// Requests arriving in the same millisecond (most of them, under load) share one formatted timestamp.
let isoMs = NaN;
let isoText = '';
function iso(d: Date): string {
  const ms = d.getTime();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = d.toISOString();
  }
  return isoText;
}

export function formatAccessLine(r: AccessRecord): string {
  const time0 = iso(r.time);
  const tls = TLS_TYPES.has(r.type);
  const target = r.target ?? '-';
  const targetStatus = r.targetStatusCode === undefined ? '-' : String(r.targetStatusCode);
  // One template, not an array joined: this runs once per request.
  return `${r.type} ${time0} app/receipt-gateway/0 ${r.client} ${target} ${time(r.requestProcessingTime)} ${time(r.targetProcessingTime)} ${time(r.responseProcessingTime)} ${r.elbStatusCode} ${targetStatus} ${r.receivedBytes} ${r.sentBytes} ${q(r.request)} ${q(r.userAgent || '-')} ${tls ? (r.sslCipher ?? '-') : '-'} ${tls ? (r.sslProtocol ?? '-') : '-'} ${r.targetGroup} ${q(r.traceId)} ${q(r.domainName || '-')} "-" ${r.matchedRulePriority === undefined ? '-' : r.matchedRulePriority} ${r.requestCreationTime === r.time ? time0 : iso(r.requestCreationTime)} ${q(r.actionsExecuted.length ? r.actionsExecuted.join(',') : '-')} ${q(r.redirectUrl ?? '-')} ${q(r.errorReason ?? '-')} ${q(target)} ${q(targetStatus)} ${q(r.classification ?? '-')} ${q(r.classificationReason ?? '-')} ${q(r.connTraceId ?? '-')} ${q(r.transformedHost ?? '-')} ${q(r.transformedUri ?? '-')} ${q(r.requestTransformStatus ?? '-')}`;
}

export function parseAccessLine(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

export const FIELD = {
  type: 0, time: 1, elb: 2, client: 3, target: 4, requestTime: 5, targetTime: 6, responseTime: 7,
  elbStatusCode: 8, targetStatusCode: 9, receivedBytes: 10, sentBytes: 11, request: 12, userAgent: 13,
  sslCipher: 14, sslProtocol: 15, traceId: 17, domainName: 18, matchedRulePriority: 20, actionsExecuted: 22, redirectUrl: 23, errorReason: 24,
  classification: 27, classificationReason: 28, connTraceId: 29, transformedHost: 30, transformedUri: 31, requestTransformStatus: 32,
} as const;

export class AccessLog {
  #stream: fs.WriteStream | undefined;
  // Records are formatted once per event-loop turn, off the request path, and reach the file in batches: a file
  // write goes through libuv's thread pool (a thread woken, an event signalled back), which under load cost as much
  // as the request it logged when it happened every turn. ALB itself delivers its logs every five minutes; here a
  // line is on disk within FLUSH_MS, or sooner once FLUSH_BYTES are waiting.
  #pending: AccessRecord[] = [];
  #scheduled = false;
  #unwritten: string[] = [];
  #unwrittenBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #listeners: Array<(line: string, record: AccessRecord) => void> = [];
  readonly #json: boolean;

  constructor(opts: { file?: string; json?: boolean }) {
    if (opts.file) {
      fs.mkdirSync(path.dirname(opts.file), { recursive: true });
      this.#stream = fs.createWriteStream(opts.file, { flags: 'a' });
    }
    this.#json = opts.json ?? false;
  }

  /** Every line, as it is written (a turn of the event loop after its request). */
  onLine(f: (line: string, record: AccessRecord) => void): void {
    this.#listeners.push(f);
  }

  write(r: AccessRecord): void {
    this.#pending.push(r);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const records = this.#pending;
    this.#pending = [];
    const lines = records.map(formatAccessLine);
    if (this.#stream) {
      const chunk = lines.join('\n') + '\n';
      this.#unwritten.push(chunk);
      this.#unwrittenBytes += chunk.length;
      if (this.#unwrittenBytes >= FLUSH_BYTES) this.#writeFile();
      else this.#timer ??= setTimeout(() => this.#writeFile(), FLUSH_MS).unref();
    }
    for (let i = 0; i < records.length; i++) {
      if (this.#json) process.stdout.write(JSON.stringify({ msg: 'access', ...records[i], line: lines[i] }) + '\n');
      for (const f of this.#listeners) f(lines[i]!, records[i]!);
    }
  }

  #writeFile(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#unwritten.length === 0) return;
    this.#stream?.write(this.#unwritten.join(''));
    this.#unwritten = [];
    this.#unwrittenBytes = 0;
  }

  async close(): Promise<void> {
    this.#flush();
    this.#writeFile();
    const s = this.#stream;
    if (s) await new Promise<void>((r) => s.end(r));
  }
}
