/** Tells the bench (the parent process) that a server is listening, and on which port. */
import type net from 'node:net';

export function ready(server: net.Server): void {
  process.send?.({ port: (server.address() as net.AddressInfo).port, pid: process.pid });
}

// Stopped by the bench with a signal: exit normally, so profiles (--cpu-prof) and logs are written.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
