/**
 * `receipt audit`: the status-code rules judged on anyone's API — live (`--url` with its OpenAPI document), from a HAR
 * recording, or from an ALB access log. Exit 0: nothing at or above --fail-on; 1: findings; 2: the audit could not
 * run (usage, an unreadable input, an API that does not answer).
 */
import fs from 'node:fs';
import { auditAccessLog, auditHar, auditLive, failing, formatReport, planLive, type AuditReport, type Exchange, type Format } from '../audit/index.ts';
import type { OpenApiDoc } from '../audit/openapi.ts';
import type { Style } from './style.ts';

export class AuditUsageError extends Error {
  override name = 'AuditUsageError';
}

export interface AuditFlags {
  url?: string;
  openapi?: string;
  token?: string;
  asOtherUserToken?: string;
  har?: string;
  accessLog?: string;
  format: Format;
  output?: string;
  failOn: 'error' | 'warning';
  rate: string;
  allowWrites?: boolean;
  testPath?: string[];
  dryRun?: boolean;
  insecure?: boolean;
  timeoutMs: string;
  verbose?: boolean;
}

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0';
  }
}

function readInput(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new AuditUsageError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** The OpenAPI document from a file or a URL (default: `<url>/openapi.json`). */
async function loadOpenApi(flags: AuditFlags): Promise<{ doc: OpenApiDoc; source: string; text: string }> {
  const source = flags.openapi ?? `${flags.url!.replace(/\/$/, '')}/openapi.json`;
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const res = await fetch(source).catch((e: Error) => {
      throw new AuditUsageError(`${source}: ${e.message}${(e as { cause?: Error }).cause ? ` (${(e as { cause?: Error }).cause!.message})` : ''}`);
    });
    if (!res.ok) throw new AuditUsageError(`${source}: ${res.status} — give the document with --openapi FILE`);
    text = await res.text();
  } else text = readInput(source);
  let doc: OpenApiDoc;
  try {
    doc = /^\s*[{[]/.test(text) ? (JSON.parse(text) as OpenApiDoc) : ((await import('yaml')).parse(text) as OpenApiDoc);
  } catch (e) {
    throw new AuditUsageError(`${source}: neither JSON nor YAML (${(e as Error).message})`);
  }
  if (!doc?.openapi?.startsWith('3.')) throw new AuditUsageError(`${source}: not an OpenAPI 3.x document`);
  return { doc, source, text };
}

export async function runAuditCommand(flags: AuditFlags, style: Style, errStyle: Style): Promise<number> {
  const inputs = [flags.url, flags.har, flags.accessLog].filter((x) => x !== undefined);
  if (inputs.length !== 1) throw new AuditUsageError('give exactly one of --url, --har, --access-log');
  const rate = Number(flags.rate);
  if (!(rate > 0 && rate <= 1000)) throw new AuditUsageError('--rate: requests per second, more than 0 and at most 1000');
  const timeoutMs = Number(flags.timeoutMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100) throw new AuditUsageError('--timeout-ms: an integer of at least 100');
  if (flags.url !== undefined && !/^https?:\/\/[^/]/i.test(flags.url)) throw new AuditUsageError(`--url ${flags.url}: an http:// or https:// URL`);
  if (flags.url === undefined && (flags.openapi || flags.token || flags.asOtherUserToken || flags.allowWrites || flags.dryRun)) {
    throw new AuditUsageError('--openapi, --token, --as-other-user-token, --allow-writes and --dry-run go with --url');
  }

  const v = version();
  let report: AuditReport;
  if (flags.har !== undefined) report = auditHar(readInput(flags.har), flags.har, v);
  else if (flags.accessLog !== undefined) report = auditAccessLog(readInput(flags.accessLog), flags.accessLog, v);
  else {
    const api = await loadOpenApi(flags);
    const common = { openapi: api.doc, allowWrites: !!flags.allowWrites, testPaths: flags.testPath ?? [], ...(flags.token ? { token: flags.token } : {}), ...(flags.asOtherUserToken ? { otherToken: flags.asOtherUserToken } : {}) };
    if (flags.dryRun) {
      const plan = planLive(common);
      const lines = [
        style.bold(`receipt audit --dry-run: ${plan.probes.length} probes planned to ${flags.url} at most ${rate} per second`),
        ...plan.probes.map((p) => `  ${p.operation.padEnd(40)} ${p.probe}${p.note ? style.dim(` (${p.note})`) : ''}`),
        style.dim('  then, from the answers: HEAD beside every GET that answers 200, If-None-Match and If-Match with its ETag, ranges where'),
        style.dim('  it offers Accept-Ranges, and every same-origin redirect followed to its end'),
        ...(plan.skipped.length ? ['', style.bold('not sent:'), ...plan.skipped.map((s) => `  ${s}`)] : []),
      ];
      console.log(lines.join('\n'));
      return 0;
    }
    const tty = process.stderr.isTTY;
    report = await auditLive({
      url: flags.url!,
      openapiSource: api.source,
      openapiText: api.text,
      ...common,
      rate,
      timeoutMs,
      insecure: !!flags.insecure,
      version: v,
      ...(flags.verbose
        ? { onExchange: (ex: Exchange) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}${ex.probe.padEnd(19)} ${ex.request.method} ${new URL(ex.request.url).pathname} → ${ex.response.status}\n`) }
        : {}),
      onProgress: (n, what) => {
        const line = `[${n}] ${what}`;
        if (tty) process.stderr.write(`\r\x1b[K${errStyle.dim(line.slice(0, (process.stderr.columns || 100) - 1))}`);
        else if (n % 25 === 1) process.stderr.write(`${line}\n`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    if (report.exchanges === 0) throw new AuditUsageError(`${flags.url}: no request was answered (${report.skipped.at(-1) ?? 'nothing to send'})`);
  }

  const text = formatReport(report, flags.format, { style: flags.output ? { ...style, red: String, yellow: String, dim: String, bold: String } : style, failOn: flags.failOn });
  if (flags.output) {
    fs.writeFileSync(flags.output, text + '\n');
    console.error(`report written to ${flags.output}: ${report.findings.length} findings`);
  } else console.log(text);
  return failing(report, flags.failOn).length > 0 ? 1 : 0;
}
