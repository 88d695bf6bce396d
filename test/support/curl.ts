/** curl in a child process, asynchronously: the server under test may run in this very process's event loop. */
import { spawn, spawnSync } from 'node:child_process';

export const hasCurl = spawnSync('curl', ['--version']).status === 0;

export function curl(args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('curl', args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}
