/**
 * How a service's log lines read on a terminal (live-log.ts): real pino lines, as a shop target writes them, made
 * readable — warnings and errors kept with their request id, the routine line per request left to the gateway's
 * line, anything that is not a log line shown as it is; under --quiet, errors only. The black-box test
 * (test/blackbox/terminal.test.ts) shows the request and health lines in the running commands.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { terminalStyle } from '../../src/cli/style.ts';
import { createLogger } from '../../src/log.ts';
import { LiveLog } from '../../src/system/live-log.ts';

/** What a target's logger writes, line by line. */
function pinoLines(write: (log: ReturnType<typeof createLogger>) => void): string[] {
  const lines: string[] = [];
  write(createLogger('info', 'shop-1', { write: (s: string) => void lines.push(s.trimEnd()) }));
  return lines;
}

function render(lines: string[], o: { quiet?: boolean; format?: 'pretty' | 'json' } = {}): string[] {
  const out: string[] = [];
  const live = new LiveLog({ format: o.format ?? 'pretty', quiet: o.quiet ?? false, style: terminalStyle({ isTTY: false } as NodeJS.WriteStream), out: { write: (s: string) => out.push(s) } });
  for (const line of lines) live.service('shop-1', line);
  return out.join('').split('\n').filter(Boolean);
}

const lines = pinoLines((log) => {
  log.child({ reqId: 'r-1' }).info({ request: { method: 'GET', url: '/products/42' }, res: { statusCode: 200 }, responseTime: 2 }, 'request completed');
  log.child({ reqId: 'r-2' }).warn('payment provider slow, retrying');
  log.child({ reqId: 'r-3' }).error({ err: new Error('connection terminated') }, 'request errored');
  log.info('report worker started');
});

describe('service log lines on a terminal', () => {
  it('warnings and errors read as one line each with the service and request id; the routine request line is left out', () => {
    const shown = render([...lines, 'a library wrote this']);
    assert.equal(shown.length, 4, shown.join('\n'));
    assert.match(shown[0]!, /^\d\d:\d\d:\d\d {2}WARN {2}shop-1 {2}payment provider slow, retrying {2}r-2$/);
    assert.match(shown[1]!, /^\d\d:\d\d:\d\d {2}ERROR {2}shop-1 {2}request errored: connection terminated {2}r-3$/);
    assert.match(shown[2]!, /^\d\d:\d\d:\d\d {2}INFO {2}shop-1 {2}report worker started$/);
    assert.equal(shown[3], 'shop-1  a library wrote this');
    assert.ok(!shown.some((l) => l.includes('r-1')), 'the gateway already printed a line for r-1');
  });

  it('--quiet keeps only the errors', () => {
    const shown = render(lines, { quiet: true });
    assert.equal(shown.length, 1);
    assert.match(shown[0]!, /ERROR {2}shop-1 {2}request errored/);
  });

  it('JSON: every line passed on as the service wrote it', () => {
    assert.deepEqual(render(lines, { format: 'json' }), lines);
  });
});
