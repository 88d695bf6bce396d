/** Products in PostgreSQL. `version` is bumped by every change; the strong ETag comes from it. */
import type { Db } from '../../db/pool.ts';

export interface ProductRow {
  id: number;
  name: string;
  price_cents: number;
  stock: number;
  version: number;
  deleted: boolean;
}

const COLS = `id::int AS id, name, price_cents, stock, version, deleted_at IS NOT NULL AS deleted`;

export const productJson = (p: ProductRow) => ({ id: p.id, name: p.name, price_cents: p.price_cents, stock: p.stock });

export async function findProduct(db: Db, id: number): Promise<ProductRow | undefined> {
  return (await db.query<ProductRow>(`SELECT ${COLS} FROM products WHERE id = $1`, [id], 'product-by-id')).rows[0];
}

export async function listProducts(db: Db): Promise<ProductRow[]> {
  return (await db.query<ProductRow>(`SELECT ${COLS} FROM products WHERE deleted_at IS NULL ORDER BY id`, [], 'products')).rows;
}

export async function insertProduct(db: Db, p: { name: string; price_cents: number; stock: number }): Promise<ProductRow> {
  const { rows } = await db.query<ProductRow>(`INSERT INTO products (name, price_cents, stock) VALUES ($1, $2, $3) RETURNING ${COLS}`, [
    p.name,
    p.price_cents,
    p.stock,
  ]);
  return rows[0]!;
}

/**
 * Replaces a product if its version is still `expectedVersion`. The version check in the WHERE clause closes the
 * window between the If-Match evaluation and the write (two writers with the same ETag: one gets 412).
 */
export async function updateProduct(
  db: Db,
  id: number,
  expectedVersion: number,
  p: { name: string; price_cents: number; stock: number },
): Promise<ProductRow | undefined> {
  const { rows } = await db.query<ProductRow>(
    `UPDATE products SET name = $3, price_cents = $4, stock = $5, version = version + 1
      WHERE id = $1 AND version = $2 AND deleted_at IS NULL RETURNING ${COLS}`,
    [id, expectedVersion, p.name, p.price_cents, p.stock],
  );
  return rows[0];
}

export async function deleteProduct(db: Db, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE products SET deleted_at = now(), version = version + 1 WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return rowCount === 1;
}
