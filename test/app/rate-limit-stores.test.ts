/**
 * The rate limit is atomic in its store: N concurrent requests against a limit of L let exactly L through, even when
 * they are spread over two limiter instances (two target processes). Against the real PostgreSQL and the real Redis.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { HttpProblem } from '../../src/http/index.ts';
import { Db } from '../../src/db/pool.ts';
import { RateLimits } from '../../src/shop/rate-limit.ts';
import { testDatabase, type TestDb } from '../support/db.ts';

// CI starts Redis on 127.0.0.1:6379 (.ci/run); a missing server fails this test, it never skips.
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const L = 25;
const N = 80;

async function race(a: RateLimits, b: RateLimits, key: string): Promise<{ allowed: number; limited: number; retryAfter: Set<string> }> {
  let allowed = 0;
  let limited = 0;
  const retryAfter = new Set<string>();
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      try {
        await (i % 2 ? a : b).consume('checkout', key);
        allowed++;
      } catch (e) {
        if (!(e instanceof HttpProblem) || e.status !== 429) throw e;
        limited++;
        retryAfter.add(e.headers['retry-after']!);
      }
    }),
  );
  return { allowed, limited, retryAfter };
}

describe('PostgreSQL store', () => {
  let db: TestDb;
  let pools: Db[];
  before(async () => {
    db = await testDatabase();
    pools = [0, 1].map(() => new Db({ url: db.url, poolSize: 10, acquireTimeoutMs: 5000, retryAfterS: 1 }));
  });
  after(async () => {
    for (const p of pools) await p.close();
    await db.drop();
  });

  it(`${N} concurrent requests over two processes' limiters, limit ${L}: exactly ${L} pass`, async () => {
    const [a, b] = pools.map((p) => new RateLimits({ checkout: L, general: 1000, store: { pg: p.pool }, retryAfterS: 1 }));
    const r = await race(a!, b!, `user:${crypto.randomUUID()}`);
    assert.equal(r.allowed, L);
    assert.equal(r.limited, N - L);
    for (const v of r.retryAfter) assert.ok(Number(v) >= 1 && Number(v) <= 60);
  });
});

describe('Redis store (REDIS_URL)', () => {
  let clients: Redis[];
  before(async () => {
    clients = [0, 1].map(() => new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 }));
    await Promise.all(clients.map((c) => c.connect()));
  });
  after(() => {
    for (const c of clients) c.disconnect();
  });

  it(`${N} concurrent requests over two processes' limiters, limit ${L}: exactly ${L} pass`, async () => {
    const prefix = `test-${crypto.randomUUID()}`;
    const [a, b] = clients.map((c) => new RateLimits({ checkout: L, general: 1000, store: { redis: c }, retryAfterS: 1, prefix }));
    const r = await race(a!, b!, 'user:1');
    assert.equal(r.allowed, L);
    assert.equal(r.limited, N - L);
    const keys = await clients[0]!.keys(`${prefix}:checkout*`);
    assert.equal(keys.length, 1, 'the count lives in Redis');
  });

  it('Redis away: a 503 naming redis, not a 500', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on('error', () => {});
    const limits = new RateLimits({ checkout: L, general: 1000, store: { redis: dead }, retryAfterS: 7 });
    await assert.rejects(limits.consume('general', 'user:1'), (e: unknown) => e instanceof HttpProblem && e.status === 503 && e.headers['retry-after'] === '7' && e.init.extensions?.dependency === 'redis');
    dead.disconnect();
  });
});
