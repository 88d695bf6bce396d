/**
 * The audit's report in four forms: text for a person (grouped by rule, coloured on a terminal), JSON, SARIF 2.1.0
 * (OASIS; what GitHub code scanning reads) and JUnit XML (what every CI shows as tests). Exit codes follow
 * `failOn`: a finding at or above it fails the run.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { Log as SarifLog, ReportingDescriptor, Result } from 'sarif';
import { RULES, type RuleId } from './rules.ts';
import type { AuditReport, Finding, Severity } from './types.ts';

export type Format = 'text' | 'json' | 'sarif' | 'junit';
export const FORMATS: Format[] = ['text', 'json', 'sarif', 'junit'];

const RANK: Record<Severity, number> = { error: 3, warning: 2, note: 1 };

export function failing(report: AuditReport, failOn: 'error' | 'warning'): Finding[] {
  return report.findings.filter((f) => RANK[f.severity] >= RANK[failOn]);
}

function byRule(report: AuditReport): Array<[RuleId, Finding[]]> {
  const m = new Map<RuleId, Finding[]>();
  for (const f of report.findings) m.set(f.rule as RuleId, [...(m.get(f.rule as RuleId) ?? []), f]);
  return [...m.entries()].sort(([a, fa], [b, fb]) => RANK[fb[0]!.severity] - RANK[fa[0]!.severity] || a.localeCompare(b));
}

/** `POST /orders → 201`, with the path relative to the audited origin. */
export function exchangeLine(f: Finding): string {
  const e = f.exchange;
  if (!e) return '';
  let target = e.request.url;
  try {
    const u = new URL(target);
    target = u.pathname + u.search;
  } catch {
    /* as recorded */
  }
  return `${e.request.method} ${target} → ${e.response.status}`;
}

const where = (f: Finding) => (f.location ? `${f.location.file}${f.location.line ? `:${f.location.line}` : ''}` : f.exchange?.where);

export interface TextStyle {
  red: (s: string) => string;
  yellow: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

export function formatText(report: AuditReport, style: TextStyle, perRule = 5): string {
  const mark: Record<Severity, string> = { error: style.red('✖ error  '), warning: style.yellow('! warning'), note: style.dim('i note   ') };
  const out: string[] = [];
  const src = report.input.kind === 'live' ? `${report.input.source} (OpenAPI: ${report.input.openapi})` : report.input.source;
  out.push(style.bold(`receipt audit — ${report.input.kind}: ${src}`) + style.dim(` · ${report.exchanges} ${report.input.kind === 'access-log' ? 'requests' : 'exchanges'} judged`));
  if (report.summary) out.push(style.dim('  ' + Object.entries(report.summary).map(([k, v]) => `${k} ${v}`).join(' · ')));
  out.push('');
  for (const [rule, list] of byRule(report)) {
    const r = RULES[rule];
    out.push(`${mark[r.severity]} ${style.bold(rule)}  ${r.title}  ${style.dim(`(${list.length})`)}`);
    for (const f of list.slice(0, perRule)) {
      const ex = exchangeLine(f);
      out.push(`    ${ex ? ex + ': ' : ''}${f.message}${where(f) ? style.dim(`  [${where(f)}]`) : ''}`);
    }
    if (list.length > perRule) out.push(style.dim(`    … and ${list.length - perRule} more (--format json lists them all)`));
    out.push(style.dim(`    fix: ${r.fix}`));
    out.push(style.dim(`    source: ${r.source}`));
    out.push('');
  }
  const count = (s: Severity) => report.findings.filter((f) => f.severity === s).length;
  if (report.skipped.length) {
    out.push(style.dim(`not sent or not read (${report.skipped.length}):`));
    for (const s of report.skipped.slice(0, 10)) out.push(style.dim(`    ${s}`));
    if (report.skipped.length > 10) out.push(style.dim(`    … and ${report.skipped.length - 10} more`));
    out.push('');
  }
  out.push(report.findings.length === 0 ? 'no findings' : `${count('error')} errors, ${count('warning')} warnings, ${count('note')} notes`);
  return out.join('\n');
}

export function formatJson(report: AuditReport): string {
  return JSON.stringify({ ...report, rules: Object.fromEntries(byRule(report).map(([id]) => [id, RULES[id]])) }, null, 2);
}

export function toSarif(report: AuditReport): SarifLog {
  const ids = Object.keys(RULES) as RuleId[];
  const rules: ReportingDescriptor[] = ids.map((id) => ({
    id,
    name: id.replace(/(^|-)(\w)/g, (_m, _d: string, c: string) => c.toUpperCase()),
    shortDescription: { text: RULES[id].title },
    fullDescription: { text: `${RULES[id].title}. Source: ${RULES[id].source}.` },
    help: { text: RULES[id].fix },
    defaultConfiguration: { level: RULES[id].severity },
    properties: { source: RULES[id].source },
  }));
  const results: Result[] = report.findings.map((f) => {
    const file = f.location?.file ?? f.exchange?.where?.split('#')[0] ?? report.input.source;
    return {
      ruleId: f.rule,
      ruleIndex: ids.indexOf(f.rule as RuleId),
      level: f.severity,
      message: { text: [exchangeLine(f), f.message].filter(Boolean).join(': ') },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: /^[a-z]+:\/\//i.test(file) ? file : encodeURI(file.replace(/\\/g, '/')) }, ...(f.location?.line ? { region: { startLine: f.location.line } } : {}) },
          ...(f.exchange?.operation ? { logicalLocations: [{ name: f.exchange.operation, kind: 'member' }] } : {}),
        },
      ],
      ...(f.exchange ? { properties: { request: `${f.exchange.request.method} ${f.exchange.request.url}`, status: f.exchange.response.status, probe: f.exchange.probe } } : {}),
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'receipt audit', version: report.tool.version, semanticVersion: report.tool.version, rules } }, results }],
  };
}

/** One test case per rule: a rule with findings at or above `failOn` fails; lower ones are printed beside it. */
export function toJUnit(report: AuditReport, failOn: 'error' | 'warning'): string {
  const cases = (Object.keys(RULES) as RuleId[]).map((id) => {
    const list = report.findings.filter((f) => f.rule === id);
    const text = list.map((f) => `${exchangeLine(f) ? exchangeLine(f) + ': ' : ''}${f.message}${where(f) ? ` [${where(f)}]` : ''}`).join('\n');
    const fails = list.some((f) => RANK[f.severity] >= RANK[failOn]);
    return {
      '@_name': `${id}: ${RULES[id].title}`,
      '@_classname': `receipt.audit.${RULES[id].severity}`,
      ...(fails ? { failure: { '@_message': `${list.length} finding${list.length === 1 ? '' : 's'}`, '@_type': RULES[id].severity, '#text': text } } : {}),
      ...(!fails && list.length ? { 'system-out': text } : {}),
    };
  });
  const failures = cases.filter((c) => 'failure' in c).length;
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true });
  const suite = { '@_name': `receipt audit (${report.input.kind}: ${report.input.source})`, '@_tests': cases.length, '@_failures': failures, '@_errors': 0, testcase: cases };
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + builder.build({ testsuites: { '@_name': 'receipt audit', '@_tests': cases.length, '@_failures': failures, testsuite: suite } });
}

export function formatReport(report: AuditReport, format: Format, o: { style: TextStyle; failOn: 'error' | 'warning' }): string {
  switch (format) {
    case 'json':
      return formatJson(report);
    case 'sarif':
      return JSON.stringify(toSarif(report), null, 2);
    case 'junit':
      return toJUnit(report, o.failOn);
    default:
      return formatText(report, o.style);
  }
}
