/**
 * Entity tags and conditional requests (RFC 9110 §8.8.3, §13.1, §13.2).
 */

export interface EntityTag {
  weak: boolean;
  /** The opaque-tag without its quotes. */
  opaque: string;
}

/** A strong tag for a value whose every change bumps `version` (the server's guarantee of §8.8.3's strong property). */
export function strongEtag(...parts: Array<string | number>): string {
  return `"${parts.join('-')}"`;
}

// entity-tag = [ weak ] opaque-tag ; opaque-tag = DQUOTE *etagc DQUOTE (§8.8.3)
const ETAG = /\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)/y;

export function parseEtag(value: string): EntityTag | undefined {
  const list = parseEtagList(value);
  return list !== '*' && list?.length === 1 ? list[0] : undefined;
}

/**
 * `If-Match` / `If-None-Match` value: `*` or a list of entity-tags. undefined when malformed
 * (a malformed precondition is treated as absent by callers; §13.1.1 allows either).
 */
export function parseEtagList(value: string): '*' | EntityTag[] | undefined {
  const v = value.trim();
  if (v === '*') return '*';
  const tags: EntityTag[] = [];
  ETAG.lastIndex = 0;
  while (ETAG.lastIndex < v.length) {
    const m = ETAG.exec(v);
    if (!m) return undefined;
    tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
  }
  return tags.length ? tags : undefined;
}

/** §8.8.3.2 strong comparison: both strong and the opaque-tags identical. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** §8.8.3.2 weak comparison: opaque-tags identical, weakness ignored. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

export type PreconditionOutcome =
  | { kind: 'proceed' }
  | { kind: 'not-modified' } // 304 — GET/HEAD only
  | { kind: 'failed' }; // 412

/**
 * Evaluates If-Match and If-None-Match in the order §13.2.2 prescribes, for a resource whose current
 * tag is `current` (undefined when there is no current representation).
 * (If-Unmodified-Since / If-Modified-Since are ignored: §13.1.3/§13.1.4 say to ignore them when the
 * corresponding entity-tag field is present, and the shop's JSON resources are validated by tag only.)
 */
export function evaluatePreconditions(
  method: string,
  headers: { 'if-match'?: string | undefined; 'if-none-match'?: string | undefined },
  current: string | undefined,
): PreconditionOutcome {
  const tag = current === undefined ? undefined : parseEtag(current);
  const safe = method === 'GET' || method === 'HEAD';

  // Step 1: If-Match, strong comparison (§13.1.1). `*` is true when a current representation exists.
  if (headers['if-match'] !== undefined) {
    const list = parseEtagList(headers['if-match']);
    const ok = list === '*' ? tag !== undefined : !!list && !!tag && list.some((t) => strongMatch(t, tag));
    if (!ok) return { kind: 'failed' };
  }
  // Step 3: If-None-Match, weak comparison (§13.1.2): false → 304 for GET/HEAD, 412 otherwise.
  if (headers['if-none-match'] !== undefined) {
    const list = parseEtagList(headers['if-none-match']);
    const matches = list === '*' ? tag !== undefined : !!list && !!tag && list.some((t) => weakMatch(t, tag));
    if (matches) return safe ? { kind: 'not-modified' } : { kind: 'failed' };
  }
  return { kind: 'proceed' };
}
