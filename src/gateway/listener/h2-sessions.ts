/**
 * The HTTP/2 connections of one HTTPS listener, from the TLS socket handed over after ALPN chose h2 to the socket's
 * close: the idle timeout, the GOAWAY after a connection's request quota, and the gateway's shutdown.
 *
 * Why this is more than `session.setTimeout(idle, () => session.close())`: when nghttp2 meets a connection error
 * (RFC 9113 §5.4.1: a frame too large, bad padding, a frame on a closed stream, a broken field block…) it sends
 * GOAWAY itself and stops reading the socket, and Node's session is never told. The session stays open and so do
 * its streams; the client's FIN is never read, so the connection sits in CLOSE-WAIT; `session.close()` waits for
 * streams that can no longer close; and Node's session timer waits one more period while answers are queued that
 * can never be written. So the idle timeout is kept here, on the bytes the TLS socket actually reads and writes, and
 * an idle connection is ended outright: GOAWAY if nghttp2 can still send one (RFC 9113 §6.8), then the socket.
 */
import type http2 from 'node:http2';
import type tls from 'node:tls';

export interface H2SessionOptions {
  /** The listener's idle timeout: a connection that reads and writes nothing for this long is closed (ALB). */
  idleMs: number;
  /** Streams one connection carries before the gateway sends GOAWAY (ALB: 10,000). */
  maxRequests: number;
}

interface Connection {
  session: http2.ServerHttp2Session;
  socket: tls.TLSSocket;
  streams: Set<http2.ServerHttp2Stream>;
  /** Bytes read and written when last looked at, and when they last changed. */
  bytes: number;
  active: number;
  served: number;
  ending: boolean;
}

/** A stream the gateway has not answered yet: its target is still being waited for. */
const awaitsAnswer = (s: http2.ServerHttp2Stream) => !s.headersSent && !s.destroyed && !s.closed;

export class H2Sessions {
  readonly #h2: http2.Http2Server;
  readonly #opts: H2SessionOptions;
  readonly #open = new Set<Connection>();
  /** How often the connections are looked at: the idle timeout is kept to within this much. */
  readonly #sweepMs: number;
  #sweeper: NodeJS.Timeout | undefined;
  /** The socket being handed to the HTTP/2 server: Node emits 'session' for it synchronously. */
  #handing: tls.TLSSocket | undefined;
  #closing = false;

  constructor(h2: http2.Http2Server, opts: H2SessionOptions) {
    this.#h2 = h2;
    this.#opts = opts;
    this.#sweepMs = Math.max(50, Math.min(1000, Math.floor(opts.idleMs / 10)));
    h2.on('session', (session: http2.ServerHttp2Session) => {
      if (this.#handing) this.#track(session, this.#handing);
    });
  }

  /** A TLS connection whose client chose h2 (RFC 7301). */
  accept(socket: tls.TLSSocket): void {
    this.#handing = socket;
    try {
      this.#h2.emit('connection', socket);
    } finally {
      this.#handing = undefined;
    }
  }

  /**
   * Shutdown: GOAWAY on every connection (RFC 9113 §6.8), whose streams in flight may finish; each connection is
   * closed as soon as none of its streams still owes an answer.
   */
  close(): void {
    this.#closing = true;
    for (const conn of this.#open) this.#drain(conn);
  }

  /** Shutdown's grace is over: every connection closed now. */
  destroy(): void {
    for (const conn of this.#open) {
      conn.session.destroy();
      conn.socket.destroy();
    }
  }

  #track(session: http2.ServerHttp2Session, socket: tls.TLSSocket): void {
    const conn: Connection = { session, socket, streams: new Set(), bytes: 0, active: Date.now(), served: 0, ending: false };
    this.#open.add(conn);
    socket.once('close', () => {
      this.#open.delete(conn);
      if (this.#open.size > 0) return;
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    });
    this.#sweeper ??= setInterval(() => this.#sweep(), this.#sweepMs).unref();
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      conn.streams.add(stream);
      const settle = () => this.#closing && this.#settle(conn);
      stream.once('close', () => {
        conn.streams.delete(stream);
        settle();
      });
      stream.once('finish', settle);
      // GOAWAY once the connection has taken its quota; the streams already open finish (RFC 9113 §6.8).
      if (++conn.served >= this.#opts.maxRequests) session.close();
    });
    if (this.#closing) this.#drain(conn);
  }

  #sweep(): void {
    const now = Date.now();
    const idleMs = this.#opts.idleMs;
    for (const conn of this.#open) {
      const bytes = conn.socket.bytesRead + conn.socket.bytesWritten;
      if (bytes !== conn.bytes) {
        conn.bytes = bytes;
        conn.active = now;
        continue;
      }
      const idle = now - conn.active;
      if (idle < idleMs) continue;
      // Ended, and its client does not even read the GOAWAY: nothing more is owed to it.
      if (conn.ending) conn.socket.destroy();
      // A stream still waiting for its target is not idle: the upstream idle timeout answers it (504), and that
      // answer moves bytes. One that waits on a connection nghttp2 has given up on gets a second period at most.
      else if (idle < 2 * idleMs && [...conn.streams].some(awaitsAnswer)) continue;
      else this.#end(conn);
    }
  }

  #drain(conn: Connection): void {
    if (!conn.session.closed && !conn.session.destroyed) conn.session.close();
    this.#settle(conn);
  }

  /** During shutdown: the connection ends once every stream's answer is complete. */
  #settle(conn: Connection): void {
    // A stream answered in full whose client never ends its request would hold a graceful close forever; RFC 9113
    // §8.1 lets a server that has sent a complete response stop reading the rest of the request.
    if ([...conn.streams].every((s) => s.writableFinished || s.destroyed)) this.#end(conn);
  }

  #end(conn: Connection): void {
    if (conn.ending) return;
    conn.ending = true;
    conn.active = Date.now();
    const { session, socket } = conn;
    // Node writes GOAWAY (if nghttp2 still can) and then ends the socket; after a graceful close() it would wait
    // for the client to end its side too, which a misbehaving client never does, so once the end is written the
    // socket is closed.
    socket.once('finish', () => setImmediate(() => socket.destroy()));
    session.destroy();
  }
}
