/** Users in PostgreSQL; the unique email constraint is what makes PUT /users/{id} answer 409. */
import type { Db } from '../../db/pool.ts';
import type { Role } from '../auth/principal.ts';

export interface UserRow {
  id: number;
  username: string;
  email: string | null;
  role: Role;
  password_hash: string;
}

const COLS = `id::int AS id, username, email, role, password_hash`;
export const userJson = (u: UserRow) => ({ id: u.id, username: u.username, email: u.email, role: u.role });

export async function findUserByName(db: Db, username: string): Promise<UserRow | undefined> {
  return (await db.query<UserRow>(`SELECT ${COLS} FROM users WHERE username = $1`, [username])).rows[0];
}

export async function findUser(db: Db, id: number): Promise<UserRow | undefined> {
  return (await db.query<UserRow>(`SELECT ${COLS} FROM users WHERE id = $1`, [id])).rows[0];
}

export class EmailTaken extends Error {}

export async function setEmail(db: Db, id: number, email: string): Promise<UserRow> {
  try {
    return (await db.query<UserRow>(`UPDATE users SET email = $2 WHERE id = $1 RETURNING ${COLS}`, [id, email])).rows[0]!;
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new EmailTaken();
    throw e;
  }
}

export async function setSettings(db: Db, id: number, settings: Record<string, unknown>): Promise<void> {
  await db.query(`UPDATE users SET settings = settings || $2::jsonb WHERE id = $1`, [id, JSON.stringify(settings)]);
}
