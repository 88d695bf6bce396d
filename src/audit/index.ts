/**
 * `receipt audit` as a library: judge anyone's API by the rules of docs/status-codes.md and the RFCs — live from its
 * OpenAPI document, from a HAR recording, or from an ALB access log. Imports nothing of the server (the ESLint layering
 * rules hold it to src/http/ and the gateway's access-log format), so it ships on its own as `receipt/audit`.
 */
import { judgeAccessLog } from './access-log.ts';
import { exchangesFromHar } from './har.ts';
import { judgeExchange, judgeTogether } from './rules.ts';
import type { AuditReport } from './types.ts';

export { auditLive, planLive, type LiveOptions, type PlannedProbe } from './live.ts';
export { RULES, judgeExchange, judgeTogether, type Rule, type RuleId } from './rules.ts';
export { formatReport, failing, toSarif, toJUnit, FORMATS, type Format, type TextStyle } from './report.ts';
export { HarError } from './har.ts';
export type { AuditReport, Exchange, Finding, Severity, Probe } from './types.ts';

export function auditHar(text: string, file: string, version = '0'): AuditReport {
  const exchanges = exchangesFromHar(text, file);
  return {
    tool: { name: 'receipt audit', version },
    input: { kind: 'har', source: file },
    exchanges: exchanges.length,
    findings: [...exchanges.flatMap(judgeExchange), ...judgeTogether(exchanges)],
    skipped: [],
  };
}

export function auditAccessLog(text: string, file: string, version = '0'): AuditReport {
  const j = judgeAccessLog(text, file);
  return {
    tool: { name: 'receipt audit', version },
    input: { kind: 'access-log', source: file },
    exchanges: j.lines,
    findings: j.findings,
    skipped: j.unreadable.length ? [`${j.unreadable.length} line(s) not in ALB's format: ${j.unreadable.slice(0, 10).join(', ')}${j.unreadable.length > 10 ? ', …' : ''}`] : [],
    summary: j.summary,
  };
}
