/** `receipt chaos` — placeholder replaced below. */
export async function runChaosCommand(): Promise<number> {
  throw new Error('not built yet');
}
