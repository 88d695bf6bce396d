/**
 * The tables in the docs that the code can check, checked against it: a page that drifts from the code fails here,
 * naming the row that is missing or extra. No database, no sockets — the files and the modules themselves.
 *
 *  - docs/gateway.md's failure table against FAILURES in src/gateway/failures.ts (status, side, error_reason);
 *  - docs/gateway.md's file table against every file under src/gateway/ (subfolders too: a new file needs its row);
 *  - docs/architecture.md's folder table against the folders and top-level files of src/;
 *  - the README's configuration table against the variables src/config.ts reads;
 *  - docs/observability.md's alert table against ops/prometheus/alerts.yml (name, side, runbook);
 *  - the decision order in the README, docs/pipeline.md and docs/status-codes.md against DECISION_STEPS;
 *  - the gateway's phases in docs/gateway.md and docs/architecture.md against PHASES;
 *  - every section of docs/status-codes.md that a rule source or a scenario cites, against the page's headings;
 *  - every link between the pages, to a file that exists and a heading it has.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { RULES } from '../../src/audit/rules.ts';
import { FAILURES } from '../../src/gateway/failures.ts';
import { PHASES } from '../../src/gateway/phases/pipeline.ts';
import { SCENARIOS } from '../../src/scenarios/play.ts';
import { DECISION_STEPS } from '../../src/shop/decision/pipeline.ts';

const read = (file: string) => fs.readFileSync(file, 'utf8');

/** The body rows of the first Markdown table after `heading` (a line of the page), as cells. */
function tableAfter(file: string, heading: string): string[][] {
  const lines = read(file).split('\n');
  const at = lines.indexOf(heading);
  assert.ok(at >= 0, `${file} has no line "${heading}"`);
  const start = lines.findIndex((l, i) => i > at && l.startsWith('|'));
  assert.ok(start > at, `${file}: no table after "${heading}"`);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    // Cells split on unescaped pipes (`FILE\|URL` stays one cell).
    rows.push(lines[i]!.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** What is in one list and not the other, said as a person reading the page would want it said. */
function sameSet(page: string, code: string, inPage: Iterable<string>, inCode: Iterable<string>): void {
  const a = new Set(inPage);
  const b = new Set(inCode);
  const missing = [...b].filter((x) => !a.has(x));
  const extra = [...a].filter((x) => !b.has(x));
  const lines = [
    ...missing.map((x) => `  missing from ${page}: ${x} (in ${code})`),
    ...extra.map((x) => `  extra in ${page}: ${x} (not in ${code})`),
  ];
  assert.ok(lines.length === 0, `${page} and ${code} disagree:\n${lines.join('\n')}`);
}

/** The same names in the same order, or which step is missing, extra or out of place. */
function sameOrder(page: string, inPage: string[], inCode: string[], code = 'src/shop/decision/pipeline.ts'): void {
  sameSet(page, code, inPage, inCode);
  const at = inPage.findIndex((name, i) => name !== inCode[i]);
  assert.ok(at < 0, `${page}: step ${at + 1} is "${inPage[at]}", ${code} has "${inCode[at]}" there (page: ${inPage.join(' → ')}; code: ${inCode.join(' → ')})`);
}

const steps = DECISION_STEPS.map(([name]) => name);

describe('docs/gateway.md', () => {
  it('its failure table has one row per FAILURES entry — status, side and error_reason — and nothing else', () => {
    const rows = tableAfter('docs/gateway.md', '## What the gateway answers, and why');
    const inPage: string[] = [];
    for (const [status, side, , reasons] of rows) {
      // The first row is the target's own answer passing through, not a failure of the gateway's.
      if (!/^\d{3}$/.test(status!)) continue;
      for (const reason of backticked(reasons!)) inPage.push(`${status} ${side} ${reason}`);
    }
    const inCode = Object.values(FAILURES).map((f) => `${f.status} ${f.side} ${f.reason}`);
    sameSet("docs/gateway.md's failure table", 'src/gateway/failures.ts', inPage, inCode);
  });

  it('its file table names every file under src/gateway/, subfolders included, and no file that is not there', () => {
    const rows = tableAfter('docs/gateway.md', '# The gateway (ALB behaviour)');
    const inPage = rows.map(([file]) => backticked(file!)[0] ?? `(a row without a file name: ${file})`);
    const root = 'src/gateway';
    const inCode = (fs.readdirSync(root, { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(root, f)).isFile())
      .map((f) => f.split(path.sep).join('/'));
    sameSet("docs/gateway.md's file table", 'src/gateway/', inPage, inCode);
  });
});

describe('docs/architecture.md', () => {
  it('its folder table names every folder of src/ and every file at its top, and nothing that is not there', () => {
    const rows = tableAfter('docs/architecture.md', '## The layers');
    const inPage = rows.flatMap(([what]) => backticked(what!));
    const inCode = fs.readdirSync('src', { withFileTypes: true }).map((d) => (d.isDirectory() ? `${d.name}/` : d.name));
    sameSet("docs/architecture.md's folder table", 'src/', inPage, inCode);
  });
});

describe('README.md', () => {
  it("its configuration table names every variable loadConfig and the CLI's options read, and no other", () => {
    const source = read('src/config.ts');
    const body = source.slice(source.indexOf('export function loadConfig'), source.indexOf('\n}\n', source.indexOf('export function loadConfig')));
    // …and the variables the CLI's own options take (commander's `.env('NAME')`), which the table lists too.
    const cliEnv = [...read('src/cli/main.ts').matchAll(/\.env\('([A-Z_]+)'\)/g)].map((m) => m[1]!);
    const inCode = [...[...body.matchAll(/\benv\.([A-Z_]+)|\bint\(env, '([A-Z_]+)'/g)].map((m) => m[1] ?? m[2]!), ...cliEnv];
    assert.ok(inCode.length > 5, 'no variables found in loadConfig: has src/config.ts changed shape?');
    const rows = tableAfter('README.md', '## Configuration');
    const inPage = rows.flatMap(([variable]) => backticked(variable!));
    sameSet("README's configuration table", "src/config.ts' loadConfig", inPage, inCode);
  });
});

describe('docs/observability.md', () => {
  it('its alert table lists every alert of ops/prometheus/alerts.yml with its side and runbook, and no other', () => {
    type Rule = { alert?: string; labels?: { side?: string }; annotations?: { runbook_url?: string } };
    const groups = (parseYaml(read('ops/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups;
    const inCode = groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => `${r.alert} ${r.labels?.side} ${r.annotations?.runbook_url}`));
    const rows = tableAfter('docs/observability.md', '## Alerts');
    // The runbook cell links docs/runbooks/x.md relative to docs/: `(runbooks/x.md)`.
    const inPage = rows.map(([alert, , side, runbook]) => `${backticked(alert!)[0]} ${side} docs/${/\(([^)]+)\)/.exec(runbook!)?.[1]}`);
    sameSet("docs/observability.md's alert table", 'ops/prometheus/alerts.yml', inPage, inCode);
    for (const line of inCode) {
      const runbook = line.split(' ')[2]!;
      assert.ok(fs.existsSync(runbook), `alerts.yml names the runbook ${runbook}, which does not exist`);
    }
  });
});

describe("the gateway's phases, wherever a page lists them", () => {
  const phases = PHASES.map(([name]) => name);
  const code = 'src/gateway/phases/pipeline.ts';

  it("docs/gateway.md's phase table lists PHASES in order", () => {
    const rows = tableAfter('docs/gateway.md', "## A request's phases");
    sameOrder("docs/gateway.md's phase table", rows.map(([name]) => backticked(name!)[0] ?? name!), phases, code);
  });

  it("docs/architecture.md's request path names PHASES in order", () => {
    const diagram = read('docs/architecture.md').split("## A request's path")[1]!.split('```')[1]!;
    const chain = diagram.split('\n').filter((l) => l.includes('─►') && /^\s*│\s+[a-z-]+ ─► [a-z-]+ ─►/.test(l));
    const inPage = chain.flatMap((l) => l.replace(/^\s*│\s+/, '').split('─►').map((n) => n.trim()).filter(Boolean));
    sameOrder("docs/architecture.md's request path", inPage, phases, code);
  });
});

describe('the decision order, wherever a page states it', () => {
  it("README's row for the decision tree lists pipeline.ts' steps in order", () => {
    const row = read('README.md').split('\n').find((l) => l.startsWith('| the decision tree |'));
    assert.ok(row, 'README.md has no "| the decision tree |" row');
    const chain = /\bparse \d{3}.*?→ 201\/200\/204/.exec(row)?.[0];
    assert.ok(chain, `README's decision-tree row has no "parse 400 → … → 201/200/204" chain: ${row}`);
    // "(preconditions 304/412)" → preconditions; the last link is the success, not a step.
    const inPage = chain.split('→').slice(0, -1).map((link) => link.trim().replace(/^\(/, '').split(' ')[0]!);
    sameOrder("README's decision order", inPage, steps);
  });

  it("docs/pipeline.md's diagram numbers pipeline.ts' steps in order", () => {
    const diagram = read('docs/pipeline.md').split('```')[1]!;
    const inPage = [...diagram.matchAll(/^ ?\d+b? ([a-z-]+) /gm)].map((m) => m[1]!).filter((n) => n !== 'success');
    sameOrder("docs/pipeline.md's diagram", inPage, steps);
  });

  it('docs/status-codes.md tells the checks in pipeline.ts’ order', () => {
    const page = read('docs/status-codes.md');
    const section = page.slice(page.indexOf('## The order of the checks'), page.indexOf('\n## ', page.indexOf('## The order of the checks') + 1));
    // Numbered steps, and the one that hangs under another (`   - **preconditions** (4b)`).
    const inPage = [...section.matchAll(/^(?:\d+\.|\s+-) \*\*([a-z-]+)\*\*/gm)].map((m) => m[1]!);
    sameOrder('docs/status-codes.md, "The order of the checks"', inPage, steps);
  });
});

describe('what cites docs/status-codes.md cites a section it has', () => {
  const page = read('docs/status-codes.md');
  // A section is a heading, or a status line of the list ("- **405 Method Not Allowed** — …"); a citation may name it
  // by its first words ("4xx", "206", "What the load balancer answers itself").
  const sections = [...page.matchAll(/^#{2,3} (.+)$/gm), ...page.matchAll(/^- \*\*([^*]+)\*\*/gm)].map((m) => m[1]!);
  const has = (name: string) => sections.some((s) => s === name || s.startsWith(`${name} `) || s.startsWith(`${name}:`));
  /** The quoted names after each `docs/status-codes.md, ` in a text: `, "400 Bad Request", "409 Conflict"`. */
  const cited = (text: string) =>
    [...text.matchAll(/status-codes\.md, ((?:"[^"$]+"(?:, )?)+)/g)].flatMap((m) => [...m[1]!.matchAll(/"([^"]+)"/g)].map((q) => q[1]!));

  it("each audit rule's source", () => {
    for (const [id, rule] of Object.entries(RULES)) {
      for (const name of cited(rule.source)) assert.ok(has(name), `rule ${id} cites docs/status-codes.md, "${name}", which the page does not have`);
    }
  });

  it('each scenario of the transcript', () => {
    for (const s of SCENARIOS) assert.ok(has(s.section), `scenario "${s.name}" cites docs/status-codes.md, "${s.section}", which the page does not have`);
  });

  it('each comment in src/', () => {
    const missing: string[] = [];
    for (const file of fs.readdirSync('src', { recursive: true }) as string[]) {
      if (!file.endsWith('.ts')) continue;
      // A comment's lines joined, so a citation broken over two lines reads whole.
      const text = read(path.join('src', file)).replace(/\n\s*(\*|\/\/)\s*/g, ' ');
      for (const name of cited(text)) if (!has(name)) missing.push(`src/${file}: docs/status-codes.md, "${name}"`);
    }
    assert.deepEqual(missing, [], 'comments cite sections docs/status-codes.md does not have');
  });
});

describe('links between the pages', () => {
  /** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
  const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
  const prose = (file: string) => read(file).replace(/```[\s\S]*?```/g, '');
  const pages = ['README.md', ...fs.readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), ...fs.readdirSync('docs/runbooks').map((f) => `docs/runbooks/${f}`)];

  it('every relative link leads to a file that exists, and every #anchor to a heading of it', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const [, link] of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(link!)) continue;
        const [file, hash] = link!.split('#');
        const target = file ? path.normalize(path.join(path.dirname(page), file)) : page;
        if (!fs.existsSync(target)) broken.push(`${page}: ${link} (no file ${target})`);
        else if (hash && target.endsWith('.md') && ![...prose(target).matchAll(/^#+ (.+)$/gm)].some((m) => anchor(m[1]!) === hash)) {
          broken.push(`${page}: ${link} (no heading of ${target} makes #${hash})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });
});
