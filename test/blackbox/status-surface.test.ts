/**
 * The status surface through the gateway, against the started system: limits shared by two target processes (on
 * PostgreSQL, and on Redis), a report job that outlives the SIGKILL of the target working on it, 206 bodies compared
 * byte for byte with the file, the redirect Locations, and maintenance mode switched on by the control plane.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { problem } from '../support/assert.ts';
import { eventually, fastHealthChecks, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

const fastChecks = fastHealthChecks({ idleTimeoutMs: 10_000 });

async function exactlyLofN(t: SystemUnderTest, limit: number, n: number): Promise<void> {
  const alice = await t.bearer('alice');
  const results = await Promise.all(Array.from({ length: n }, () => t.call('GET', '/orders', { headers: alice })));
  const counts = results.reduce<Record<number, number>>((m, r) => ((m[r.statusCode] = (m[r.statusCode] ?? 0) + 1), m), {});
  assert.deepEqual(counts, { 200: limit, 429: n - limit });
  // Both targets served: the limit held across processes, not inside one.
  const served = new Set(t.logs.filter((l) => l.msg === 'request completed' && (l as { res?: { statusCode: number } }).res?.statusCode === 429).map((l) => l.service));
  assert.equal(served.size, 2, `429s came from ${[...served].join(', ')}`);
}

describe('on PostgreSQL (the default store)', () => {
  let t: SystemUnderTest;
  let token: string;
  before(async () => {
    t = await systemUnderTest({ TARGETS: '2', RATE_LIMIT: '15', CONTROL_TOKEN: 'tok', REPORT_WORK_MS: '2500' }, { gatewayConfig: fastChecks });
    token = 'tok';
  });
  after(() => t.stop());
  const control = async (method: string, p: string, body?: unknown) => {
    const res = await request(t.system.controlUrl + p, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, json: await res.body.json().catch(() => undefined) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('RATE_LIMIT 15, 40 concurrent requests spread over two targets: exactly 15 pass', () => exactlyLofN(t, 15, 40));

  it('a report job finishes after the target working on it is killed (SIGKILL) mid-job, once', async () => {
    const admin = { authorization: `Bearer ${(await t.call('POST', '/auth/token', { body: { username: 'admin', password: 'admin-pass' } })).json().access_token}` };
    const accepted = await t.call('POST', '/reports/generate', { headers: admin });
    assert.equal(accepted.statusCode, 202);
    const jobId = accepted.json().job_id as string;
    let claimedBy = '';
    await eventually(async () => {
      const row = (await t.testDb.sql(`SELECT status, claimed_by FROM report_jobs WHERE id = $1`, [jobId]))[0]!;
      claimedBy = row.claimed_by;
      return row.status === 'running';
    }, 5000, 'a worker claimed it');
    assert.equal((await control('POST', `/targets/${claimedBy}/kill`)).json.process, 'stopped');
    // Watched in the database: polling over HTTP would spend this system's small rate limit.
    await eventually(async () => (await t.testDb.sql(`SELECT status FROM report_jobs WHERE id = $1`, [jobId]))[0]!.status === 'done', 15000, 'done by the other target');
    const status = await t.call('GET', `/reports/status/${jobId}`, { headers: admin });
    assert.equal(status.json().status, 'done');
    assert.equal(status.json().result, `/reports/${jobId}`);
    const row = (await t.testDb.sql(`SELECT attempts, claimed_by, result->>'generated_by' AS by FROM report_jobs WHERE id = $1`, [jobId]))[0]!;
    assert.notEqual(row.claimed_by, claimedBy);
    assert.equal(row.by, row.claimed_by);
    assert.equal(row.attempts, 2);
    const report = await t.call('GET', `/reports/${jobId}`, { headers: admin });
    assert.equal(report.statusCode, 200);
    await control('POST', `/targets/${claimedBy}/start`);
  });

  it('206 through the gateway, byte for byte; the whole 50 MiB streamed intact; 416', async () => {
    const file = path.join(t.dataDir, 'videos', 'movie.mp4');
    const size = fs.statSync(file).size;
    assert.equal(size, 52428800, 'the 50 MiB sample video');
    const fd = fs.openSync(file, 'r');
    const slice = (start: number, len: number) => {
      const b = Buffer.alloc(len);
      fs.readSync(fd, b, 0, len, start);
      return b;
    };
    const part = await request(t.system.url + '/videos/movie.mp4', { headers: { range: 'bytes=0-1048575' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], `bytes 0-1048575/${size}`);
    assert.ok(Buffer.from(await part.body.arrayBuffer()).equals(slice(0, 1048576)));
    const mid = await request(t.system.url + '/videos/movie.mp4', { headers: { range: 'bytes=30000000-30999999' } });
    assert.ok(Buffer.from(await mid.body.arrayBuffer()).equals(slice(30000000, 1000000)));
    fs.closeSync(fd);
    const whole = await request(t.system.url + '/videos/movie.mp4');
    const hash = crypto.createHash('sha256');
    for await (const chunk of whole.body) hash.update(chunk as Buffer);
    assert.equal(hash.digest('hex'), crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
    const bad = await t.call('GET', '/videos/movie.mp4', { headers: { range: `bytes=${size}-` } });
    problem(bad, 416);
    assert.equal(bad.headers['content-range'], `bytes */${size}`);
  });

  it('the redirect Locations through the gateway', async () => {
    const v1 = await t.call('POST', '/v1/orders', { body: { x: 1 } });
    assert.equal(v1.statusCode, 308);
    assert.equal(v1.headers.location, '/orders');
    const legacy = await t.call('GET', '/legacy/products/42');
    assert.equal(legacy.statusCode, 301);
    assert.equal(legacy.headers.location, '/products/42');
  });

  it('maintenance through the control plane: GET / → 302 /maintenance.html, the API → 503 + Retry-After', async () => {
    await control('PUT', '/faults', { maintenance: true });
    try {
      await eventually(async () => (await t.call('GET', '/')).statusCode === 302, 5000, 'the 302');
      assert.equal((await t.call('GET', '/')).headers.location, '/maintenance.html');
      let api = await t.call('GET', '/products/42');
      await eventually(async () => (api = await t.call('GET', '/products/42')).statusCode === 503, 5000, 'the 503');
      problem(api, 503);
      assert.match(String(api.headers['retry-after']), /^\d+$/);
    } finally {
      await control('DELETE', '/faults');
    }
  });
});

describe('on Redis (REDIS_URL)', () => {
  let t: SystemUnderTest;
  before(async () => {
    t = await systemUnderTest({ TARGETS: '2', RATE_LIMIT: '12', REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379' }, { gatewayConfig: fastChecks });
  });
  after(() => t.stop());

  it('RATE_LIMIT 12, 30 concurrent requests spread over two targets: exactly 12 pass', () => exactlyLofN(t, 12, 30));
});
