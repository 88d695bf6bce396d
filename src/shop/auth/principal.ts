/** Who is calling: what a valid access token names. Below everything else of the shop, so tokens, the store and the
 * decision steps can all name it without importing each other. */
export type Role = 'customer' | 'admin';

export interface Principal {
  id: number;
  role: Role;
}
