/** The payment sandbox: idempotent charges, and its injected failure answered as a problem with Retry-After. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Db } from '../../src/db/pool.ts';
import { Faults } from '../../src/faults.ts';
import { createLogger } from '../../src/log.ts';
import { buildSandbox } from '../../src/payment-sandbox/app.ts';
import { testDatabase, type TestDb } from '../support/db.ts';

let testDb: TestDb;
let db: Db;
let app: Awaited<ReturnType<typeof buildSandbox>>;
const faults = new Faults();
before(async () => {
  testDb = await testDatabase();
  db = new Db({ url: testDb.url, poolSize: 2, acquireTimeoutMs: 2000, retryAfterS: 1 });
  app = await buildSandbox({ db, faults, random: () => 0 }, createLogger('silent', 'sandbox'));
});
after(async () => {
  await app.close();
  await db.close();
  await testDb.drop();
});

const charge = (key: string, amount = 100) =>
  app.inject({ method: 'POST', url: '/charges', headers: { 'idempotency-key': key }, payload: { amount_cents: amount, payment_token: 'tok', reference: key } });

describe('payment sandbox', () => {
  it('a repeated key answers the first charge and charges nothing more; another amount under it is 422', async () => {
    const first = await charge('k1');
    const again = await charge('k1');
    assert.equal(first.statusCode, 201);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().id, first.json().id);
    assert.equal((await testDb.sql(`SELECT count(*)::int AS n FROM sandbox.charges WHERE idempotency_key = 'k1'`))[0]!.n, 1);
    assert.equal((await charge('k1', 200)).statusCode, 422);
  });

  it('an injected failure is a 503 problem that carries its Retry-After', async () => {
    faults.set({ payment_failure_rate: 1 });
    try {
      const res = await charge('k2');
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers['retry-after'], '1');
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    } finally {
      faults.set({});
    }
  });
});
