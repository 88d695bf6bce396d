/**
 * An ALB access log (the format of AWS's "Access logs for your Application Load Balancer" page, which Receipt's
 * gateway also writes) judged for who made each error: the load balancer itself (elb_status_code 5xx, no
 * target_status_code) or the application behind it (target_status_code 5xx) — the first digit's responsibility,
 * line by line. Findings are grouped (one per status and route), each pointing at its first line.
 */
import { FIELD, parseAccessLine } from '../gateway/access-log.ts';
import { finding } from './rules.ts';
import type { Finding } from './types.ts';

/** A burst: this many load-balancer 502s within the window (a deployment stopping targets before they drain). */
export const BURST = { count: 5, windowS: 60 };

export interface AccessLogJudgement {
  lines: number;
  findings: Finding[];
  summary: Record<string, number>;
  unreadable: number[];
}

export function judgeAccessLog(text: string, file: string): AccessLogJudgement {
  const summary: Record<string, number> = { requests: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, 'elb-made 5xx': 0, 'target-made 5xx': 0, '460': 0 };
  const groups = new Map<string, { rule: 'alb-target-5xx' | 'alb-elb-5xx' | 'alb-client-closed'; count: number; line: number; what: string }>();
  const elb502: Array<{ t: number; line: number }> = [];
  const unreadable: number[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const f = parseAccessLine(line);
    const elb = Number(f[FIELD.elbStatusCode]);
    const time = Date.parse(f[FIELD.time] ?? '');
    if (f.length < 25 || !Number.isInteger(elb) || Number.isNaN(time)) {
      unreadable.push(i + 1);
      continue;
    }
    const target = f[FIELD.targetStatusCode] === '-' ? undefined : Number(f[FIELD.targetStatusCode]);
    summary.requests!++;
    const cls = `${Math.floor(elb / 100)}xx`;
    if (cls in summary) summary[cls]!++;
    // "METHOD scheme://host:port/path?query HTTP/1.1" → "METHOD /path"
    const [method, uri] = (f[FIELD.request] ?? '').split(' ');
    let path = uri ?? '';
    try {
      path = new URL(uri ?? '').pathname;
    } catch {
      /* keep it as logged */
    }
    const route = `${method} ${path}`;
    const reason = f[FIELD.errorReason] && f[FIELD.errorReason] !== '-' ? ` (${f[FIELD.errorReason]})` : '';
    const group = (rule: 'alb-target-5xx' | 'alb-elb-5xx' | 'alb-client-closed', key: string, what: string) => {
      const g = groups.get(key);
      if (g) g.count++;
      else groups.set(key, { rule, count: 1, line: i + 1, what });
    };
    if (target !== undefined && target >= 500) {
      summary['target-made 5xx']!++;
      group('alb-target-5xx', `t${target} ${route}`, `the target answered ${target} to ${route}`);
    } else if (elb >= 500 && target === undefined) {
      summary['elb-made 5xx']!++;
      group('alb-elb-5xx', `e${elb}${reason}`, `the load balancer answered ${elb}${reason}`);
      if (elb === 502) elb502.push({ t: time, line: i + 1 });
    }
    if (elb === 460) {
      summary['460']!++;
      group('alb-client-closed', `460 ${route}`, `clients closed the connection before ${route} was answered`);
    }
  }
  const findings: Finding[] = [...groups.values()].map((g) => finding(g.rule, `${g.what}: ${g.count} time${g.count === 1 ? '' : 's'}, first on line ${g.line}`, undefined, { location: { file, line: g.line } }));
  // Bursts: a sliding window over the load balancer's own 502s; one finding per burst, at its first line.
  for (let i = 0; i < elb502.length; ) {
    let j = i;
    while (j + 1 < elb502.length && elb502[j + 1]!.t - elb502[i]!.t <= BURST.windowS * 1000) j++;
    const n = j - i + 1;
    if (n >= BURST.count) {
      const seconds = Math.round((elb502[j]!.t - elb502[i]!.t) / 1000);
      findings.push(finding('alb-502-burst', `${n} load-balancer 502s within ${seconds} s from ${new Date(elb502[i]!.t).toISOString()} (lines ${elb502[i]!.line}–${elb502[j]!.line})`, undefined, { location: { file, line: elb502[i]!.line } }));
      i = j + 1;
    } else i++;
  }
  return { lines: summary.requests!, findings, summary, unreadable };
}
