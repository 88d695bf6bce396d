/** The demo data: alice and bob (customers), admin; products 42 "Headphones" and 43. Idempotent. */
import type pg from 'pg';
import { hashPassword } from './auth/tokens.ts';

export const DEMO_USERS = [
  { username: 'alice', password: 'alice-pass', role: 'customer', email: 'alice@example.com' },
  { username: 'bob', password: 'bob-pass', role: 'customer', email: 'bob@example.com' },
  { username: 'admin', password: 'admin-pass', role: 'admin', email: 'admin@example.com' },
] as const;

export async function seedDemoData(client: Pick<pg.Client, 'query'>): Promise<void> {
  const existing = await client.query(`SELECT 1 FROM users LIMIT 1`);
  if (existing.rowCount) return;
  for (const u of DEMO_USERS) {
    await client.query(`INSERT INTO users (username, email, password_hash, role) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [
      u.username,
      u.email,
      await hashPassword(u.password),
      u.role,
    ]);
  }
  await client.query(
    `INSERT INTO products (id, name, price_cents, stock) VALUES (42, 'Headphones', 7999, 1000), (43, 'USB-C cable', 1299, 1000)
     ON CONFLICT DO NOTHING`,
  );
}
