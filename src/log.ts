/** Structured (JSON) logs; every request line carries `reqId` (Fastify's pino child logger adds it). */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      name,
      base: { pid: process.pid, name },
      // Never log credentials: tokens and passwords stay out of the log (OWASP API8).
      redact: ['req.headers.authorization', 'password', 'refresh_token', 'access_token'],
    },
    destination,
  );
}
