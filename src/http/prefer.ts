/**
 * The Prefer request header (RFC 7240). Its grammar (§2):
 *
 *   Prefer     = 1#preference
 *   preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
 *
 * Preference names are case-insensitive (§2); a server ignores what it does not understand or cannot honour (§2)
 * and names what it did honour in Preference-Applied (§3). Only the names and their values matter here; the
 * parameters after ";" are kept out of the value.
 */

/** Each preference's name (lower-cased) → its value, or `true` when it has none. The first of a repeated name wins (§2). */
export function parsePrefer(header: string | string[] | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (header === undefined) return out;
  for (const field of Array.isArray(header) ? header : [header]) {
    for (const pref of splitOutsideQuotes(field, ',')) {
      const head = splitOutsideQuotes(pref, ';')[0]!.trim();
      if (!head) continue;
      const eq = head.indexOf('=');
      const name = (eq < 0 ? head : head.slice(0, eq)).trim().toLowerCase();
      if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) || out.has(name)) continue;
      let value: string | true = true;
      if (eq >= 0) {
        const raw = head.slice(eq + 1).trim();
        value = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      }
      out.set(name, value);
    }
  }
  return out;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}
