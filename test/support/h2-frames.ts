/**
 * A client that speaks HTTP/2 as frames (RFC 9113 §4) over a real TLS connection: how the gateway's tests send what
 * no HTTP/2 library would (DATA on stream 0, bad padding, a field block cut short) and see every frame that comes
 * back, and whether the server ended the connection.
 */
import tls from 'node:tls';

/** Frame types (RFC 9113 §6). */
export const TYPE = { DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9 } as const;
/** Frame flags (RFC 9113 §6). */
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8 } as const;
/** Error codes (RFC 9113 §7). */
export const ERROR = { NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, FLOW_CONTROL_ERROR: 0x3, STREAM_CLOSED: 0x5, FRAME_SIZE_ERROR: 0x6 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** One frame: the 9-octet header of RFC 9113 §4.1 (length as given, so a test can make it wrong), then the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/**
 * A field block of literal fields without indexing, each with a new name and no Huffman coding (RFC 7541 §6.2.2):
 * the plainest HPACK any decoder accepts. Names and values stay under 127 octets, so each length is one octet.
 */
export function fieldBlock(fields: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    if (name.length > 126 || value.length > 126) throw new Error('fieldBlock takes names and values under 127 octets');
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1'));
  }
  return Buffer.concat(parts);
}

/** The fields of a GET (or `method`) of `path` on this server. */
export const request = (path: string, method = 'GET'): Array<[string, string]> => [
  [':method', method],
  [':scheme', 'https'],
  [':path', path],
  [':authority', 'h2.example'],
];

export interface H2Connection {
  send(...frames: Buffer[]): void;
  /** Every frame received so far, in order. */
  readonly frames: Frame[];
  /** The first frame received that matches, waiting for it up to `timeoutMs`; undefined if none came. */
  next(match: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame | undefined>;
  /** The server's GOAWAY, if one came: its last stream id and error code (RFC 9113 §6.8). */
  goaway(timeoutMs?: number): Promise<{ lastStreamId: number; code: number } | undefined>;
  /** Resolves true once the server has ended the connection, or false after `timeoutMs`. */
  ended(timeoutMs: number): Promise<boolean>;
  destroy(): void;
}

/**
 * Opens a TLS connection that negotiates h2 (RFC 7301), sends the client preface and an empty SETTINGS (RFC 9113
 * §3.4), and acknowledges the server's SETTINGS as a client must (§6.5.3); nothing else unless the test sends it.
 * The client never closes its side first: whatever ends the connection is the server's doing.
 */
export async function h2Connect(port: number): Promise<H2Connection> {
  const socket: tls.TLSSocket = await new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: 'localhost' }, () => resolve(s));
    s.once('error', reject);
  });
  if (socket.alpnProtocol !== 'h2') throw new Error(`the server chose ${String(socket.alpnProtocol)}, not h2`);
  const frames: Frame[] = [];
  let buffered = Buffer.alloc(0);
  let serverEnded = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  socket.on('data', (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      const f: Frame = { type: buffered[3]!, flags: buffered[4]!, streamId: buffered.readUInt32BE(5) & 0x7fffffff, payload: buffered.subarray(9, 9 + length) };
      buffered = buffered.subarray(9 + length);
      frames.push(f);
      if (f.type === TYPE.SETTINGS && !(f.flags & FLAG.ACK)) socket.write(frame(TYPE.SETTINGS, FLAG.ACK, 0));
    }
    wake();
  });
  socket.on('error', () => {});
  socket.on('end', () => {
    serverEnded = true;
    wake();
  });
  socket.on('close', () => {
    serverEnded = true;
    wake();
  });
  const wait = (done: () => boolean, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (!done() && !serverEnded) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(done());
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        resolve(done());
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  socket.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0)]));
  const conn: H2Connection = {
    send: (...fs) => void socket.write(Buffer.concat(fs)),
    frames,
    async next(match, timeoutMs = 5000) {
      await wait(() => frames.some(match), timeoutMs);
      return frames.find(match);
    },
    async goaway(timeoutMs = 5000) {
      const f = await conn.next((x) => x.type === TYPE.GOAWAY, timeoutMs);
      return f && { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
    },
    ended: (timeoutMs) => wait(() => serverEnded, timeoutMs),
    destroy: () => socket.destroy(),
  };
  return conn;
}
