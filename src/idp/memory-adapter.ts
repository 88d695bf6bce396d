/**
 * Where the local provider keeps its sessions, grants, codes and tokens: in memory, per model, each until it
 * expires. oidc-provider asks its host for such a store (its "adapter" interface) and, given none, uses one of its
 * own that it announces on every start as unfit for production; the local provider is the test and laptop case it
 * warns about — one process, nothing that must outlive a restart — so this is the store it is meant to have here.
 */
type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };
type Items = Map<string, { payload: Payload; expiresAt: number | undefined }>;

/** One provider's store: `adapter: memoryStore()` in its configuration (a factory oidc-provider calls per model). */
export function memoryStore(): (name: string) => MemoryAdapter {
  const models = new Map<string, Items>();
  return (name) => {
    let items = models.get(name);
    if (!items) models.set(name, (items = new Map()));
    return new MemoryAdapter(items);
  };
}

export class MemoryAdapter {
  readonly #items: Items;
  #writes = 0;

  constructor(items: Items) {
    this.#items = items;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    this.#items.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    // Expired entries go now and then, so a long-running `receipt start` keeps only what is still alive.
    if (++this.#writes % 100 === 0) {
      const now = Date.now();
      for (const [k, v] of this.#items) if (v.expiresAt !== undefined && v.expiresAt <= now) this.#items.delete(k);
    }
  }

  async find(id: string): Promise<Payload | undefined> {
    const item = this.#items.get(id);
    if (!item) return undefined;
    if (item.expiresAt !== undefined && item.expiresAt <= Date.now()) {
      this.#items.delete(id);
      return undefined;
    }
    return item.payload;
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    for (const [id, item] of this.#items) if (item.payload.uid === uid) return this.find(id);
    return undefined;
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    for (const [id, item] of this.#items) if (item.payload.userCode === userCode) return this.find(id);
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const item = this.#items.get(id);
    if (item) item.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.#items.delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [id, item] of this.#items) if (item.payload.grantId === grantId) this.#items.delete(id);
  }
}
