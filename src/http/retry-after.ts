/**
 * Retry-After (RFC 9110 §10.2.3): `HTTP-date / delay-seconds`.
 * A sender MUST generate IMF-fixdate (§5.6.7); a recipient MUST accept all three date formats.
 */

/** Seconds form; rounds up so a client never comes back early. */
export function formatRetryAfter(seconds: number): string {
  return String(Math.max(0, Math.ceil(seconds)));
}

/** IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (Date#toUTCString produces exactly this). */
export function formatHttpDate(date: Date): string {
  return date.toUTCString();
}

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Parses the three HTTP-date forms of RFC 9110 §5.6.7; undefined when it is none of them. */
export function parseHttpDate(value: string): Date | undefined {
  let y: number, mo: number, d: number, h: number, mi: number, s: number;
  let m = IMF_FIXDATE.exec(value);
  if (m) {
    [d, mo, y, h, mi, s] = [Number(m[2]), MONTHS.indexOf(m[3]!), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7])];
  } else if ((m = RFC850.exec(value))) {
    // §5.6.7: a two-digit year that appears more than 50 years in the future is in the past century.
    const yy = Number(m[4]);
    const now = new Date().getUTCFullYear();
    y = 2000 + yy > now + 50 ? 1900 + yy : 2000 + yy;
    [d, mo, h, mi, s] = [Number(m[2]), MONTHS.indexOf(m[3]!), Number(m[5]), Number(m[6]), Number(m[7])];
  } else if ((m = ASCTIME.exec(value))) {
    [mo, d, h, mi, s, y] = [MONTHS.indexOf(m[2]!), Number(m[3]!.trim()), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7])];
  } else {
    return undefined;
  }
  const date = new Date(Date.UTC(y, mo, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Milliseconds to wait, from a Retry-After value at time `now`; undefined when the value is not valid
 * (a client then falls back to its own backoff). A date in the past means "now": 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const seconds = Number(v);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  const date = parseHttpDate(v);
  return date === undefined ? undefined : Math.max(0, date.getTime() - now);
}
