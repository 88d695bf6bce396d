/**
 * A fresh database per test file, on the server the test run was given: the embedded one that scripts/test.ts
 * started, or the machine's own through DATABASE_URL. Never skips: without a server the test fails and says why.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { createDatabase, dropDatabase, migrate } from '../../src/db/migrate.ts';
import { seedDemoData } from '../../src/shop/seed.ts';

export function adminUrl(): string {
  const url = process.env.RECEIPT_TEST_ADMIN_URL;
  if (!url) {
    throw new Error('RECEIPT_TEST_ADMIN_URL is not set: run the tests with `npm test` (it starts a PostgreSQL server or uses DATABASE_URL).');
  }
  return url;
}

export interface TestDb {
  url: string;
  name: string;
  drop(): Promise<void>;
  /** A short-lived client for setting up and inspecting state directly. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
}

export async function testDatabase(): Promise<TestDb> {
  const name = `receipt_t_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = adminUrl();
  const url = await createDatabase(admin, name);
  await migrate(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await seedDemoData(client);
  return {
    url,
    name,
    sql: async (text, params = []) => (await client.query(text, params)).rows,
    drop: async () => {
      await client.end();
      await dropDatabase(admin, name);
    },
  };
}
