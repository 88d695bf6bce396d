/**
 * HTTP/2 clients that break the protocol or go silent, each on a real TLS connection to a running gateway, writing
 * frames no HTTP/2 library would (test/support/h2-frames.ts). For each: the gateway answers as RFC 9113 says — a
 * connection error (§5.4.1) with GOAWAY and its error code, a stream error (§5.4.2) with RST_STREAM or GOAWAY — and
 * then closes the connection: the client sees its socket end, with the client sending nothing more, and the gateway
 * counts no client connection open. h2spec found connections left this way in CLOSE-WAIT for good.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../../src/gateway/config.ts';
import { loadOrCreateCertificate } from '../../src/gateway/tls.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { ERROR, FLAG, TYPE, fieldBlock, frame, h2Connect, request, type H2Connection } from '../support/h2-frames.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';
import { rawTarget, type RawTarget } from '../support/misbehaving.ts';
import { origin, type Origin } from '../support/origin.ts';

const IDLE_MS = 500;
/** How long a test waits for the gateway to close a connection: far past the idle timeout, so only a leak fails. */
const CLOSE_WAIT_MS = 10 * IDLE_MS;

let upstream: Origin;
let silent: RawTarget;
let slow: HttpTarget;
let tmp = '';
let pems: { key: string; cert: string };

function config(): GatewayConfig {
  const listener = (protocol: 'HTTP' | 'HTTPS') => ({
    protocol,
    port: 0,
    rules: [
      { priority: 1, conditions: [{ field: 'path-pattern' as const, values: ['/silent'] }], actions: [{ type: 'forward' as const, targetGroups: [{ name: 'silent' }] }] },
      { priority: 2, conditions: [{ field: 'path-pattern' as const, values: ['/slow'] }], actions: [{ type: 'forward' as const, targetGroups: [{ name: 'slow' }] }] },
    ],
    defaultActions: [{ type: 'forward' as const, targetGroups: [{ name: 'origin' }] }],
  });
  // No health check within a test's time: the silent target would fail it, and its traffic is not what is tested.
  const healthCheck = { path: '/healthz', intervalMs: 300_000 };
  return {
    idleTimeoutMs: IDLE_MS,
    connectTimeoutMs: 300,
    listeners: [listener('HTTP'), listener('HTTPS')],
    targetGroups: [
      { name: 'origin', healthCheck, targets: [{ id: 'origin', host: '127.0.0.1', port: upstream.port }] },
      { name: 'silent', healthCheck, targets: [{ id: 'silent', host: '127.0.0.1', port: silent.port }] },
      { name: 'slow', healthCheck, targets: [{ id: 'slow', host: '127.0.0.1', port: slow.port }] },
    ],
  };
}

let gw: Awaited<ReturnType<typeof gatewayUnderTest>>;
const httpsPort = () => gw.gateway.listener('https')!.port;

before(async () => {
  upstream = await origin();
  silent = await rawTarget(() => {});
  slow = await httpTarget('slow');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-h2-'));
  pems = await loadOrCreateCertificate(tmp);
  gw = await gatewayUnderTest(config(), pems);
});
after(async () => {
  await gw.close();
  await Promise.all([upstream.close(), silent.close(), slow.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A connection past its preface: the server's SETTINGS has come (RFC 9113 §3.4). */
async function connect(port = httpsPort()): Promise<H2Connection> {
  const c = await h2Connect(port);
  assert.ok(await c.next((f) => f.type === TYPE.SETTINGS && !(f.flags & FLAG.ACK)), 'the server sends its SETTINGS first');
  return c;
}

const headers = (streamId: number, fields: Array<[string, string]>, flags: number) => frame(TYPE.HEADERS, flags, streamId, fieldBlock(fields));
/** A GET on stream 1, complete: the stream is half-closed (remote) once it arrives (RFC 9113 §5.1). */
const GET = headers(1, request('/h2-get'), FLAG.END_HEADERS | FLAG.END_STREAM);
/** A POST on stream 1 whose body has not come yet: the stream is open, and the target waits for the body. */
const OPEN_POST = headers(1, request('/h2-upload', 'POST'), FLAG.END_HEADERS);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
/** A padded frame's payload whose Pad Length is larger than what follows it (RFC 9113 §6.1, §6.2). */
const overlongPadding = (content: Buffer) => Buffer.concat([Buffer.from([content.length + 10]), content]);

/**
 * The gateway ended the connection while this client kept its own side open, and counts it closed: its open
 * client connections are back to 0 (each test's connections are its own; the tests run one at a time).
 */
async function assertClosedByGateway(c: H2Connection, gateway = gw.gateway): Promise<void> {
  assert.ok(await c.ended(CLOSE_WAIT_MS), 'the gateway closes the connection');
  for (let i = 0; i < 100 && gateway.connections.clients.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(gateway.connections.clients.open, 0, 'no client connection is left open at the gateway');
}

const dataText = (c: H2Connection, streamId: number) =>
  Buffer.concat(c.frames.filter((f) => f.type === TYPE.DATA && f.streamId === streamId).map((f) => f.payload)).toString('latin1');

/** What a client sends, and the error code RFC 9113 names for it. */
interface ErrorCase {
  name: string;
  frames: Buffer[];
  code: number;
}

describe('connection errors (RFC 9113 §5.4.1): GOAWAY with the error code, then the connection closed', () => {
  const cases: ErrorCase[] = [
    { name: 'DATA on stream 0 (§6.1)', frames: [frame(TYPE.DATA, 0, 0, Buffer.from('x'))], code: ERROR.PROTOCOL_ERROR },
    {
      name: 'DATA whose padding is longer than its payload, on an open stream (§6.1; h2spec 6.1/3)',
      frames: [OPEN_POST, frame(TYPE.DATA, FLAG.PADDED, 1, overlongPadding(Buffer.from('body')))],
      code: ERROR.PROTOCOL_ERROR,
    },
    {
      name: 'HEADERS whose padding is longer than its payload (§6.2)',
      frames: [frame(TYPE.HEADERS, FLAG.PADDED | FLAG.END_HEADERS | FLAG.END_STREAM, 1, overlongPadding(fieldBlock(request('/padded'))))],
      code: ERROR.PROTOCOL_ERROR,
    },
    {
      name: 'a field block interrupted by a frame other than CONTINUATION (§6.10; h2spec 6.10/5)',
      frames: [headers(1, request('/cut').slice(0, 2), 0), frame(TYPE.CONTINUATION, 0, 1, fieldBlock(request('/cut').slice(2, 3))), frame(TYPE.DATA, 0, 1, Buffer.from('x'))],
      code: ERROR.PROTOCOL_ERROR,
    },
    {
      name: 'CONTINUATION after a HEADERS that ended its field block (§6.10; h2spec 6.10/4)',
      frames: [GET, frame(TYPE.CONTINUATION, FLAG.END_HEADERS, 1, fieldBlock([['x-late', '1']]))],
      code: ERROR.PROTOCOL_ERROR,
    },
    {
      name: 'RST_STREAM whose length is not 4, on an open stream (§6.4; h2spec 6.4/3)',
      frames: [OPEN_POST, frame(TYPE.RST_STREAM, 0, 1, Buffer.alloc(3))],
      code: ERROR.FRAME_SIZE_ERROR,
    },
    { name: 'SETTINGS whose length is not a multiple of 6 (§6.5)', frames: [frame(TYPE.SETTINGS, 0, 0, Buffer.alloc(3))], code: ERROR.FRAME_SIZE_ERROR },
    { name: 'PING whose length is not 8 (§6.7)', frames: [frame(TYPE.PING, 0, 0, Buffer.alloc(6))], code: ERROR.FRAME_SIZE_ERROR },
  ];
  for (const { name, frames, code } of cases) {
    it(name, async () => {
      const c = await connect();
      try {
        c.send(...frames);
        const goaway = await c.goaway();
        assert.ok(goaway, 'the gateway sends GOAWAY');
        assert.equal(goaway.code, code, `GOAWAY carries error code ${code}`);
        await assertClosedByGateway(c);
      } finally {
        c.destroy();
      }
    });
  }
});

describe('stream errors (RFC 9113 §5.4.2): RST_STREAM or GOAWAY with the error code, and the connection closed by the idle timeout at the latest', () => {
  const cases: ErrorCase[] = [
    {
      name: 'DATA larger than SETTINGS_MAX_FRAME_SIZE on an open stream (§4.2; h2spec 4.2/2)',
      frames: [OPEN_POST, frame(TYPE.DATA, 0, 1, Buffer.alloc(16_384 + 1))],
      code: ERROR.FRAME_SIZE_ERROR,
    },
    { name: 'PRIORITY whose length is not 5, on an open stream (§6.3; h2spec 6.3/2)', frames: [OPEN_POST, frame(TYPE.PRIORITY, 0, 1, Buffer.alloc(4))], code: ERROR.FRAME_SIZE_ERROR },
    { name: 'DATA on a half-closed (remote) stream (§5.1; h2spec 5.1/5)', frames: [GET, frame(TYPE.DATA, 0, 1, Buffer.from('late'))], code: ERROR.STREAM_CLOSED },
    {
      name: "WINDOW_UPDATE that takes a stream's window past 2^31-1 (§6.9.1)",
      frames: [OPEN_POST, frame(TYPE.WINDOW_UPDATE, 0, 1, u32(0x7fffffff))],
      code: ERROR.FLOW_CONTROL_ERROR,
    },
  ];
  for (const { name, frames, code } of cases) {
    it(name, async () => {
      const c = await connect();
      try {
        c.send(...frames);
        const answer = await c.next((f) => f.type === TYPE.GOAWAY || (f.type === TYPE.RST_STREAM && f.streamId === 1));
        assert.ok(answer, 'the gateway sends RST_STREAM or GOAWAY');
        assert.equal(answer.payload.readUInt32BE(answer.type === TYPE.GOAWAY ? 4 : 0), code, `with error code ${code}`);
        await assertClosedByGateway(c);
      } finally {
        c.destroy();
      }
    });
  }
});

describe('silent clients: the connection closed at the idle timeout, with GOAWAY (NO_ERROR) first (RFC 9113 §6.8)', () => {
  it('a client that sends its preface and nothing else', async () => {
    const c = await connect();
    try {
      assert.deepEqual(await c.goaway(CLOSE_WAIT_MS), { lastStreamId: 0, code: ERROR.NO_ERROR });
      await assertClosedByGateway(c);
    } finally {
      c.destroy();
    }
  });

  it('a client answered before it finished its request, that then sends nothing more (RFC 9113 §8.1)', async () => {
    const c = await connect();
    try {
      c.send(headers(1, request('/reject-early', 'POST'), FLAG.END_HEADERS), frame(TYPE.DATA, 0, 1, Buffer.from('part of a body')));
      assert.ok(await c.next((f) => f.type === TYPE.DATA && f.streamId === 1 && (f.flags & FLAG.END_STREAM) !== 0), 'the answer comes complete');
      assert.match(dataText(c, 1), /too large/);
      assert.deepEqual(await c.goaway(CLOSE_WAIT_MS), { lastStreamId: 1, code: ERROR.NO_ERROR });
      await assertClosedByGateway(c);
    } finally {
      c.destroy();
    }
  });

  it('a client waiting on a target that never answers gets the 504, and the connection closes after it', async () => {
    const c = await connect();
    try {
      c.send(headers(1, request('/silent'), FLAG.END_HEADERS | FLAG.END_STREAM));
      await assertClosedByGateway(c);
      assert.ok(c.frames.some((f) => f.type === TYPE.DATA && f.streamId === 1 && (f.flags & FLAG.END_STREAM) !== 0), 'the answer on stream 1 comes complete');
      assert.match(dataText(c, 1), /504 Gateway Time-out/);
      assert.equal((await c.goaway(0))?.lastStreamId, 1, 'GOAWAY says stream 1 was processed');
      assert.equal((await gw.logFor('/silent')).errorReason, 'TargetResponseTimeout');
    } finally {
      c.destroy();
    }
  });
});

describe('gateway.close() with HTTP/2 connections open', () => {
  it('answers the request in flight, and closes every connection, including one nghttp2 gave up on, without waiting out the grace', { timeout: 30_000 }, async () => {
    const own = await gatewayUnderTest(config(), pems);
    const port = own.gateway.listener('https')!.port;
    const [broken, busy, idle] = [await connect(port), await connect(port), await connect(port)];
    try {
      broken.send(GET, frame(TYPE.RST_STREAM, 0, 1, Buffer.alloc(3)));
      assert.equal((await broken.goaway())?.code, ERROR.FRAME_SIZE_ERROR);
      slow.delayMs = 200;
      busy.send(headers(1, request('/slow'), FLAG.END_HEADERS | FLAG.END_STREAM));
      for (let i = 0; i < 100 && !slow.lastHeaders; i++) await new Promise((r) => setTimeout(r, 10));
      // A grace far longer than this test's timeout: close() must not wait it out.
      await own.gateway.close(600_000);
      assert.match(dataText(busy, 1), /"target":"slow"/, 'the request in flight is answered in full');
      for (const c of [broken, busy, idle]) await assertClosedByGateway(c, own.gateway);
      assert.equal((await idle.goaway(0))?.code, ERROR.NO_ERROR, 'an idle connection is told GOAWAY (NO_ERROR) first');
    } finally {
      slow.delayMs = 0;
      for (const c of [broken, busy, idle]) c.destroy();
    }
  });
});
