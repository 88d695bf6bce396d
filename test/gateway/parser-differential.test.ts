/**
 * The gateway's HTTP/1.x reading (listener/connection.ts over wire/) against llhttp, Node's own parser: generated
 * well-formed requests — methods, origin-form targets, fields, bodies framed by Content-Length or chunked (with
 * extensions and trailers), several pipelined on one connection — are written as bytes to both, each behind a real
 * socket, and both must read the same framing: method, target, fields in order, body bytes, trailers, and where
 * each next request starts (the same number of requests, each whole).
 *
 * Then malformed variants of the same requests: whatever llhttp refuses, the gateway must refuse too, or classify
 * as non-compliant (desync.ts) — so no request llhttp would not read is forwarded as a compliant one.
 *
 * A few thousand cases here; `npm run soak` runs 100,000 (PARSER_DIFF_RUNS).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyRaw } from '../../src/gateway/desync.ts';
import { H1Connection } from '../../src/gateway/listener/connection.ts';
import { requestFraming } from '../../src/gateway/wire/framing.ts';
import { asText, parseRequestHead } from '../../src/gateway/wire/head.ts';

const RUNS = Number(process.env.PARSER_DIFF_RUNS ?? 2000);
const MALFORMED_RUNS = Math.max(300, Math.round(RUNS / 5));
const PROGRESS = RUNS >= 10_000;

interface Read {
  method: string;
  target: string;
  fields: string[];
  body: string;
  trailers: string[];
}

/** A server that records what it read, per connection, and answers each request with an empty 200. */
interface Recorder {
  port: number;
  reads: Read[];
  refused: number;
  /** Resolves once `n` requests were read or one was refused. */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

function recorder(server: net.Server, reads: Read[], state: { refused: number; waiter?: () => void }): Recorder {
  return {
    port: 0,
    reads,
    get refused() {
      return state.refused;
    },
    waitFor(n) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (reads.length >= n || state.refused > 0) {
            clearTimeout(timer);
            state.waiter = undefined;
            resolve();
          }
        };
        const timer = setTimeout(() => reject(new Error(`only ${reads.length} of ${n} requests read`)), 1000);
        state.waiter = check;
        check();
      });
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

const collect = (req: Readable, done: (body: string) => void) => {
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => done(Buffer.concat(parts).toString('latin1')));
};

let node: Recorder;
let gateway: Recorder;
const nodeState: { refused: number; waiter?: () => void } = { refused: 0 };
const gatewayState: { refused: number; waiter?: () => void } = { refused: 0 };

before(async () => {
  const nodeReads: Read[] = [];
  const nodeServer = http.createServer({ requireHostHeader: false, keepAliveTimeout: 5000 }, (req, res) => {
    collect(req, (body) => {
      nodeReads.push({ method: req.method!, target: req.url!, fields: req.rawHeaders, body, trailers: req.rawTrailers });
      res.end();
      nodeState.waiter?.();
    });
  });
  nodeServer.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    // A parse error; not the reset of a connection an earlier case closed.
    if (!e.code?.startsWith('HPE_')) return void socket.destroy();
    nodeState.refused++;
    nodeState.waiter?.();
    socket.destroy();
  });
  node = recorder(nodeServer, nodeReads, nodeState);
  node.port = await listen(nodeServer);

  const gatewayReads: Read[] = [];
  const gatewayServer = net.createServer((socket) => {
    new H1Connection(
      socket,
      { idleMs: 5000, keepAliveMs: 3_600_000, maxHeadBytes: 80 * 1024, closing: () => false },
      {
        request: (req, res) =>
          collect(req, (body) => {
            gatewayReads.push({ method: req.received.method, target: req.received.target, fields: req.received.fields, body, trailers: req.rawTrailers });
            res.end();
            gatewayState.waiter?.();
          }),
        upgrade: (_req, s) => s.destroy(),
        connect: () => '',
        refuse: () => {
          gatewayState.refused++;
          gatewayState.waiter?.();
          return '';
        },
      },
    );
  });
  gateway = recorder(gatewayServer, gatewayReads, gatewayState);
  gateway.port = await listen(gatewayServer);
});
after(async () => {
  await node.close();
  await gateway.close();
});

/** Writes `bytes` to both and waits until each has read `n` requests (or refused the bytes). */
async function both(bytes: Buffer, n: number) {
  node.reads.length = 0;
  gateway.reads.length = 0;
  nodeState.refused = 0;
  gatewayState.refused = 0;
  const sockets = [node.port, gateway.port].map((p) => {
    const s = net.connect(p, '127.0.0.1');
    s.on('error', () => {});
    s.resume();
    s.write(bytes);
    return s;
  });
  try {
    await Promise.all([node.waitFor(n), gateway.waitFor(n)]);
  } finally {
    for (const s of sockets) s.destroy();
  }
}

/** Whether llhttp refuses the bytes (one request, or the start of one). */
async function nodeRefuses(bytes: Buffer): Promise<boolean> {
  node.reads.length = 0;
  nodeState.refused = 0;
  const s = net.connect(node.port, '127.0.0.1');
  s.on('error', () => {});
  s.resume();
  s.write(bytes);
  // A request whose body llhttp still waits for is one it has not refused.
  await node.waitFor(1).catch(() => {});
  s.destroy();
  return nodeState.refused > 0;
}

// RFC 9110 §5.6.2 token characters; field values of VCHAR, SP, HTAB and obs-text (§5.5).
const tchar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''));
const token = fc.array(tchar, { minLength: 1, maxLength: 16 }).map((a) => a.join(''));
const RESERVED = new Set(['content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect', 'trailer', 'te', 'keep-alive', 'proxy-connection', 'host']);
const fieldName = token.filter((t) => !RESERVED.has(t.toLowerCase()));
const vchar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const obsText = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c));
const fieldValue = fc
  .array(fc.oneof({ weight: 20, arbitrary: vchar }, { weight: 3, arbitrary: fc.constantFrom(' ', '\t') }, { weight: 1, arbitrary: obsText }), { maxLength: 40 })
  .map((a) => a.join('').replace(/^[ \t]+|[ \t]+$/g, ''));
const ows = fc.constantFrom('', ' ', '  ', '\t', ' \t');
const pchar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&\'()*+,;=:@%'.split(''));
const segment = fc.array(pchar, { maxLength: 12 }).map((a) => a.join('').replace(/%/g, '%25'));
const target = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.option(fc.array(fc.oneof(pchar, fc.constantFrom('/', '?')), { maxLength: 20 }).map((a) => a.join('').replace(/%/g, '%41'))))
  .map(([segs, q]) => `/${segs.join('/')}${q === null ? '' : `?${q}`}`);
const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'REPORT', 'PURGE', 'QUERY');
const bodyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1'));
const chunkExt = fc.option(fc.tuple(token, fc.option(token)).map(([k, v]) => `;${k}${v === null ? '' : `=${v}`}`), { nil: '' });
const framing = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  bodyBytes.map((body) => ({ kind: 'length' as const, body })),
  fc.record({
    chunks: fc.array(fc.tuple(bodyBytes.filter((b) => b.length > 0), chunkExt, fc.boolean()), { maxLength: 4 }),
    lastExt: chunkExt,
    trailers: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 2 }),
  }).map((c) => ({ kind: 'chunked' as const, ...c })),
);
const request = fc.record({ method, target, fields: fc.array(fc.tuple(fieldName, ows, fieldValue, ows), { maxLength: 8 }), framing, clName: fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH'), teName: fc.constantFrom('Transfer-Encoding', 'transfer-encoding') });
type Generated = typeof request extends fc.Arbitrary<infer T> ? T : never;

function bytes(r: Generated): string {
  let head = `${r.method} ${r.target} HTTP/1.1\r\nHost: example.test\r\n`;
  for (const [name, before, value, after] of r.fields) head += `${name}:${before}${value}${after}\r\n`;
  const f = r.framing;
  if (f.kind === 'length') return `${head}${r.clName}: ${f.body.length}\r\n\r\n${f.body}`;
  if (f.kind === 'none') return `${head}\r\n`;
  let body = '';
  for (const [data, ext, upper] of f.chunks) {
    const size = data.length.toString(16);
    body += `${upper ? size.toUpperCase() : size}${ext}\r\n${data}\r\n`;
  }
  body += `0${f.lastExt}\r\n${f.trailers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return `${head}${r.teName}: chunked\r\n\r\n${body}`;
}

let ran = 0;
const progress = () => {
  if (PROGRESS && ++ran % 5000 === 0) process.stderr.write(`parser differential: ${ran} cases\n`);
};

describe('the gateway reads what llhttp reads', () => {
  it(`${RUNS} generated pipelines of well-formed requests: the same requests, fields, bodies and boundaries`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), async (pipeline) => {
        progress();
        await both(Buffer.from(pipeline.map(bytes).join(''), 'latin1'), pipeline.length);
        assert.equal(node.refused, 0, 'llhttp read it (the generator makes only well-formed requests)');
        assert.equal(gateway.refused, 0);
        assert.deepEqual(gateway.reads, node.reads);
      }),
      { numRuns: RUNS },
    );
  });

  // What the mutations do to a request's bytes: each makes a request llhttp may refuse.
  const MUTATIONS: Array<[string, (b: string) => string]> = [
    ['Content-Length beside Transfer-Encoding', (b) => b.replace('\r\n', '\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n')],
    ['two different Content-Lengths', (b) => b.replace('\r\n', '\r\nContent-Length: 1\r\nContent-Length: 2\r\n')],
    ['a space before a colon', (b) => b.replace('\r\nHost:', '\r\nHost :')],
    ['obs-fold', (b) => b.replace('\r\nHost: example.test\r\n', '\r\nHost: example.test\r\n folded\r\n')],
    ['a control character in a value', (b) => b.replace('Host: example.test', 'Host: exa\x01mple.test')],
    ['a bad Content-Length', (b) => b.replace('\r\n', '\r\nContent-Length: 1x\r\n')],
    ['Transfer-Encoding not ending in chunked', (b) => b.replace('\r\n', '\r\nTransfer-Encoding: gzip\r\n')],
    ['a bare CR in a value', (b) => b.replace('Host: example.test', 'Host: example\r.test')],
    ['a NUL in the target', (b) => b.replace(' HTTP/1.1', '\x00x HTTP/1.1')],
  ];

  it(`${MALFORMED_RUNS} malformed requests: what llhttp refuses, the gateway's head parser refuses or its classifier calls non-compliant`, async () => {
    let refusedByLlhttp = 0;
    await fc.assert(
      fc.asyncProperty(request, fc.constantFrom(...MUTATIONS), async (r, [, mutate]) => {
        progress();
        const text = mutate(bytes(r));
        if (!(await nodeRefuses(Buffer.from(text, 'latin1')))) return;
        refusedByLlhttp++;
        const parsed = parseRequestHead(Buffer.from(text, 'latin1'), 0, 80 * 1024);
        if (parsed.kind === 'error') return;
        assert.equal(parsed.kind, 'head');
        const h = parsed.head;
        const c = classifyRaw(asText(h.method), asText(h.target), h.version, h.fields.map(asText));
        const framing = requestFraming(h.fields);
        assert.ok(c.tier !== 'Compliant' || framing.kind === 'invalid', `llhttp refused it, the gateway calls it compliant: ${JSON.stringify(text.slice(0, 200))}`);
      }),
      { numRuns: MALFORMED_RUNS },
    );
    // The property says something only about inputs llhttp refused: most of the mutations are such inputs.
    assert.ok(refusedByLlhttp > MALFORMED_RUNS / 2, `llhttp refused ${refusedByLlhttp} of ${MALFORMED_RUNS}`);
  });
});
