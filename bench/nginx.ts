/**
 * Debian's nginx as a reference proxy in front of a local port (the bench's and scripts/compare-nginx.ts's): one
 * worker, upstream keep-alive, files in a temporary folder removed on stop. Optional: `nginxInstalled()` says
 * whether it can be used at all.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/db/embedded.ts';

export const nginxInstalled = () => spawnSync('nginx', ['-v']).status === 0;

export interface RunningNginx {
  url: string;
  /** The master's pid; its worker is the process whose CPU is nginx's. */
  pid: number;
  stop(): void;
}

/**
 * `streaming`: pass Upgrade and Host through and neither buffer bodies nor answers (as the gateway does), for
 * comparing behaviour; otherwise the plain keep-alive setup fit for measuring speed.
 */
export async function startNginx(upstreamPort: number, o: { streaming?: boolean } = {}): Promise<RunningNginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-nginx-'));
  const port = await freePort();
  const location = o.streaming
    ? `proxy_pass http://upstream; proxy_http_version 1.1;
      proxy_set_header Host $host; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
      proxy_request_buffering off; proxy_buffering off;`
    : 'proxy_pass http://upstream; proxy_http_version 1.1; proxy_set_header Connection "";';
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; user root; error_log ${dir}/error.log; pid ${dir}/nginx.pid;
events {}
http {
  access_log off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  upstream upstream { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server { listen 127.0.0.1:${port}; location / { ${location} } }
}
`,
  );
  const master = spawn('nginx', ['-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await fetch(url).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    url,
    pid: master.pid!,
    stop() {
      master.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
