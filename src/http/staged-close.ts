/**
 * Closing an HTTP/1.x connection in stages (RFC 9112 §9.6).
 *
 * A server that closes while its client may still be sending — an early answer to an upload, a 400 — must not
 * close both directions at once: the kernel then answers the client's unread bytes with a reset, and the reset can
 * destroy the answer before the client has read it ("If a server performs an immediate close of a TCP connection,
 * there is a significant risk that the client will not be able to read the last HTTP response"). So: close the
 * sending side, keep reading and discarding until the client closes too or a while has passed, then close.
 *
 * Node's HTTP server ends a connection that must not be kept alive through `socket.destroySoon()`; giving each
 * connection this version instead makes every such close a staged one.
 */
import type net from 'node:net';

/** How long a closing connection may still be read (and discarded) before it is closed for good. */
export const LINGER_MS = 2_000;

/** Closes `socket` in stages: its sending side now, the whole of it when the client closes too or LINGER_MS passed. */
export function lingeringClose(socket: net.Socket): void {
  if (socket.writable) socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}

function closeInStages(this: net.Socket): void {
  lingeringClose(this);
}

/** Makes every connection the server closes close in stages. Call once, on the server's 'connection' event. */
export function closeConnectionsInStages(server: { on(event: 'connection', listener: (socket: net.Socket) => void): unknown }): void {
  server.on('connection', (socket) => {
    socket.destroySoon = closeInStages;
  });
}
