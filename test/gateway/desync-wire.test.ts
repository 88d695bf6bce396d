/**
 * ALB's desync mitigation on the wire: every case of http_desync_guardian's published table
 * (test/fixtures/desync-cases.json) sent as raw bytes to a running gateway in front of a real origin, in each of the
 * three modes (and in defensive mode over TLS too), and judged against ALB's mode table (desync.ts `verdict`, from AWS's "Desync mitigation mode"):
 *
 *   forward            → the origin's answer, and the connection stays open where HTTP/1.x keeps one (RFC 9112 §9.3);
 *   forward-then-close → the origin's answer, then the client connection closes and the target's was not reused;
 *   block              → 400 from the gateway, nothing reaches the origin, the connection closes.
 *
 * For every case: the access log's `classification` / `classification_reason` are the table's tier and reason
 * (`-` for Compliant), the non-compliant counter rises by one for every non-compliant request, and what reached
 * the origin had exactly one framing. Whether the connection stayed open is seen from outside: a second request
 * follows each case on the same connection and is answered only if it did.
 *
 * Cases whose bytes do not say what the table's row says, and cases ALB's documentation and the guardian leave
 * open, are listed below with the reason for each — and checked for what the gateway does instead.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GatewayMetrics } from '../../src/control/metrics.ts';
import { AccessLog, FIELD, parseAccessLine } from '../../src/gateway/access-log.ts';
import { validateGatewayConfig } from '../../src/gateway/config.ts';
import { verdict, type DesyncMode, type Tier } from '../../src/gateway/desync.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { loadOrCreateCertificate } from '../../src/gateway/tls.ts';
import { origin, type Origin } from '../support/origin.ts';
import { parseResponses, rawExchange } from '../support/raw-client.ts';

interface Case {
  id: string;
  method: string;
  uri: string;
  version: string;
  headers: Array<[string, string]>;
  tier: Tier;
  reason: string;
}
const table = (JSON.parse(fs.readFileSync(new URL('../fixtures/desync-cases.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases;

/**
 * Rows that cannot be sent as the bytes they describe: a CRLF inside one of their parts ends that line on the wire,
 * so what arrives is another request (the guardian's tables give parsed heads, not bytes).
 */
const UNSENDABLE: Record<string, string> = {
  'uri-specific-test-cases#8': 'its request target holds CRLF CRLF and a second request line: on the wire it is two requests',
  'severe#11': 'its field value ends with CRLF: on the wire the head ends there, before the Host field the test adds',
};

/**
 * Rows whose handling ALB's documentation and the guardian leave open, or settle otherwise than the mode table: what
 * the gateway does instead, and why. `status` and `open` replace the table's expectation in the modes named.
 */
interface Exception {
  modes: DesyncMode[];
  status: number;
  why: string;
}
const TE_UNKNOWN = 'a Transfer-Encoding whose last coding is not chunked leaves the body length unknown (RFC 9112 §6.3 item 4): ALB documents 501 for any Transfer-Encoding but chunked and identity, so it is not forwarded in any mode that does not block it';
const TE_TWICE = 'chunked applied twice (RFC 9112 §6.1 forbids it) is a body no target parser reads: answered as a Transfer-Encoding ALB does not support (501)';
const CL_UNKNOWN = 'Content-Length that is not one number leaves the body length unknown (RFC 9112 §6.3 item 5): nothing can be forwarded with a length the target can trust, so the gateway answers 400 in monitor mode too (ALB does not document what its monitor mode forwards here)';
const EXCEPTIONS: Record<string, Exception> = {
  'ambiguous#12': { modes: ['monitor', 'defensive'], status: 501, why: TE_UNKNOWN },
  'bad-header-characters#2': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'bad-header-characters#3': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'bad-header-characters#4': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'bad-header-characters#5': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'edge-cases#2': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'edge-cases#6': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'edge-cases#7': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'real-life-test-cases#14': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'real-life-test-cases#15': { modes: ['monitor', 'defensive'], status: 501, why: TE_UNKNOWN },
  'real-life-test-cases#23': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'real-life-test-cases#5': { modes: ['monitor'], status: 501, why: TE_TWICE },
  'real-life-test-cases#19': { modes: ['monitor'], status: 501, why: TE_TWICE },
  'severe#9': { modes: ['monitor'], status: 501, why: TE_TWICE },
  'severe#10': { modes: ['monitor'], status: 501, why: TE_TWICE },
  'uri-specific-test-cases#10': { modes: ['monitor'], status: 400, why: 'a request target that does not start with / (here NUL) is in none of the forms of RFC 9112 §3.2: 400 (InvalidRequestTarget)' },
  'real-life-test-cases#16': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'real-life-test-cases#21': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'severe#6': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'severe#7': { modes: ['monitor'], status: 501, why: TE_UNKNOWN },
  'severe#1': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'severe#3': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'severe#4': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'severe#5': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'severe#8': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'bad-header-characters#9': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'bad-header-characters#10': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'bad-header-characters#11': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'edge-cases#1': { modes: ['monitor'], status: 400, why: CL_UNKNOWN },
  'severe#27': {
    modes: ['monitor'],
    status: 400,
    why: 'a method with a control character cannot be written into a request line a target would read; ALB does not document what its monitor mode sends',
  },
  'rfc-compliant#14': {
    modes: ['monitor', 'defensive', 'strictest'],
    status: 400,
    why: 'an empty request target is in none of the forms of RFC 9112 §3.2, whatever its classification: 400 (InvalidRequestTarget)',
  },
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The body the case's framing fields ask for, read as RFC 9112 §6.3 reads them: exact field names only. */
function bodyFor(c: Case): string {
  const named = (n: string) => c.headers.filter(([k]) => TOKEN.test(k) && k.toLowerCase() === n).map(([, v]) => v);
  const te = named('transfer-encoding');
  if (te.length > 0) return /(^|,)\s*chunked\s*(;[^,]*)?$/i.test(te.join(',').trim()) ? '3\r\nabc\r\n0\r\n\r\n' : '';
  // A list of one number said again is that number (RFC 9110 §8.6).
  const cl = [...new Set(named('content-length').flatMap((v) => v.split(',').map((n) => n.trim())))];
  return cl.length === 1 && /^\d{1,7}$/.test(cl[0]!) ? 'x'.repeat(Number(cl[0])) : '';
}

function bytesOf(c: Case): Buffer {
  const fields = c.headers.some(([k]) => k.toLowerCase() === 'host') ? c.headers : [...c.headers, ['Host', 'localhost'] as [string, string]];
  const head = `${c.method} ${c.uri}${c.version ? ` ${c.version}` : ''}\r\n${fields.map(([k, v]) => `${k}:${v}\r\n`).join('')}\r\n`;
  return Buffer.from(head + bodyFor(c), 'utf8');
}

const PROBE = 'GET /probe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

let upstream: Origin;
let tmp = '';
let pems: { key: string; cert: string };
before(async () => {
  upstream = await origin();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-desync-wire-'));
  pems = await loadOrCreateCertificate(tmp);
});
after(async () => {
  await upstream.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sendable = table.filter((c) => !(c.id in UNSENDABLE));

describe('the guardian’s table, sent as bytes', () => {
  it(`${sendable.length} of ${table.length} cases are sendable; every other one is listed with its reason`, () => {
    assert.equal(sendable.length + Object.keys(UNSENDABLE).length, table.length);
    for (const id of [...Object.keys(UNSENDABLE), ...Object.keys(EXCEPTIONS)]) assert.ok(table.some((c) => c.id === id), `${id} is in the table`);
  });
});

// Each mode on the HTTP listener; defensive (the default) also over TLS whose ALPN chose http/1.1, the same reader.
const RUNS = [
  { mode: 'monitor', tls: false },
  { mode: 'defensive', tls: false },
  { mode: 'strictest', tls: false },
  { mode: 'defensive', tls: true },
] as const;

for (const { mode, tls } of RUNS) {
  describe(`desync mitigation on the wire, ${mode} mode${tls ? ', HTTPS (http/1.1)' : ''}`, () => {
    const lines: string[] = [];
    let gateway: Gateway;
    let metrics: GatewayMetrics;
    before(async () => {
      const accessLog = new AccessLog({});
      accessLog.onLine((l) => lines.push(l));
      const ref: { m?: GatewayMetrics } = {};
      gateway = new Gateway({
        config: validateGatewayConfig({
          idleTimeoutMs: 2000,
          desyncMitigationMode: mode,
          listeners: [{ protocol: tls ? 'HTTPS' : 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'origin' }] }] }],
          targetGroups: [{ name: 'origin', healthCheck: { path: '/healthz', intervalMs: 300_000 } }],
        }),
        host: '127.0.0.1',
        accessLog,
        ...(tls ? { tls: pems } : {}),
        onRecord: (r) => ref.m?.record(r),
      });
      metrics = ref.m = new GatewayMetrics(gateway);
      await gateway.listen();
      gateway.group('origin').register('origin', '127.0.0.1', upstream.port);
    });
    after(async () => {
      await gateway.close(200);
    });

    const counted = async () =>
      (await metrics.registry.metrics())
        .split('\n')
        .filter((l) => l.startsWith('receipt_alb_desync_mitigation_mode_non_compliant_request_count_total{'))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

    for (const c of sendable) {
      const exception = EXCEPTIONS[c.id]?.modes.includes(mode) ? EXCEPTIONS[c.id] : undefined;
      const v = verdict(mode, c.tier);
      const title = exception ? `${exception.status} (${exception.why})` : v;
      it(`${c.id} (${c.tier} / ${c.reason}): ${title}`, async () => {
        const logged = lines.length;
        const arrived = upstream.arrivals.length;
        const before = await counted();
        const { text, closed } = await rawExchange(gateway.ports[0]!, Buffer.concat([bytesOf(c), Buffer.from(PROBE)]), { timeoutMs: 3000, tls });
        const answers = parseResponses(text, { headRequests: c.method === 'HEAD' ? [0] : [] });
        assert.ok(closed, 'the exchange ended');
        // What reached the origin of this case (the probe is the last arrival when it was answered).
        const reached = upstream.arrivals.slice(arrived).filter((a) => a.url !== '/probe' && a.url !== '/healthz');

        if (exception) {
          assert.equal(answers[0]?.status, exception.status);
          assert.equal(answers.length, 1, 'the connection closed after the answer');
          assert.equal(reached.length, 0, 'nothing reached the origin');
        } else if (v === 'block') {
          assert.equal(answers[0]?.status, 400);
          assert.equal(answers.length, 1, 'the connection closed after the 400');
          assert.equal(reached.length, 0, 'nothing reached the origin');
        } else {
          assert.equal(answers[0]?.status, 200, 'the origin answered');
          assert.equal(reached.length, 1, 'the request reached the origin once');
          const h = reached[0]!.headers;
          assert.ok(h['content-length'] === undefined || h['transfer-encoding'] === undefined, 'one framing, never both');
          // RFC 9112 §9.3: HTTP/1.1 persists unless told to close; HTTP/1.0 only with keep-alive, and never after a
          // Transfer-Encoding (§6.1); HTTP/0.9 never.
          const connection = c.headers.filter(([k]) => k.toLowerCase() === 'connection').map(([, v]) => v.trim().toLowerCase());
          const te = c.headers.some(([k]) => k.toLowerCase() === 'transfer-encoding');
          const persistent = /^HTTP\/1\.[1-9]/.test(c.version) ? !connection.includes('close') : c.version.startsWith('HTTP/1.0') && connection.includes('keep-alive') && !te;
          if (v === 'forward-then-close') {
            assert.equal(answers.length, 1, 'the client connection closed after the answer');
            assert.equal(h.connection, 'close', 'the target connection is not reused');
          } else {
            assert.equal(answers.length, persistent ? 2 : 1, persistent ? 'the connection stayed open' : 'no persistent connection before HTTP/1.1 (RFC 9112 §9.3)');
            if (persistent) assert.equal(answers[1]!.status, 200);
          }
        }

        for (let i = 0; i < 100 && lines.length === logged; i++) await new Promise((r) => setTimeout(r, 10));
        const f = parseAccessLine(lines[logged]!);
        assert.equal(f[FIELD.classification], c.tier === 'Compliant' ? '-' : c.tier);
        assert.equal(f[FIELD.classificationReason], c.tier === 'Compliant' ? '-' : c.reason);
        assert.equal((await counted()) - before, c.tier === 'Compliant' ? 0 : 1, 'the non-compliant counter');
      });
    }
  });
}
