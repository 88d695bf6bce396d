/**
 * What must never reach a client in an error body: a stack trace, a file path of the server, SQL, a database
 * driver's message, a JavaScript exception's name. A 500 says nothing of how the server failed (RFC 9457 §5); OWASP's
 * Improper Error Handling. Shared by the fuzzer (our own answers) and `receipt audit` (anyone's).
 */
const INTERNAL: ReadonlyArray<RegExp> = [
  /\bat [\w$.<>]+ \(?[^\s)]*:\d+:\d+\)?/, // a V8 stack frame
  /\bat [\w$.]+\([\w$]+\.java:\d+\)/, // a JVM stack frame
  /Traceback \(most recent call last\)/, // Python
  /node_modules|\.ts:\d+|file:\/\//,
  /\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]{0,80}\b(FROM|INTO|SET|WHERE)\b/,
  /syntax error at or near|violates (unique|foreign key|check) constraint|relation "\w+" does not exist|invalid input syntax for|SQLSTATE/i,
  /\b(TypeError|ReferenceError|RangeError|SyntaxError|NullPointerException): /,
];

/** The first internal detail in `body`, as found (at most 120 characters), or undefined. */
export function findInternalDetail(body: string): string | undefined {
  for (const re of INTERNAL) {
    const m = re.exec(body);
    if (m) return m[0].slice(0, 120);
  }
  return undefined;
}
