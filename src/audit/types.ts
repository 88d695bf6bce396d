/** The shapes `receipt audit` works on: exchanges in (sent live, or read from a recording), findings out. */

export type Severity = 'error' | 'warning' | 'note';

/**
 * Why the audit sent a request — the rules that compare two answers (403 against 404, HEAD against GET, a listed
 * method against 405) find their pair by it. `recorded`: from a HAR file, sent by someone else.
 */
export type Probe =
  | 'recorded'
  | 'well-formed'
  | 'malformed-json'
  | 'wrong-type'
  | 'rule-violation'
  | 'no-credentials'
  | 'invalid-token'
  | 'other-user'
  | 'other-user-missing'
  | 'missing'
  | 'wrong-method'
  | 'allowed-method'
  | 'head'
  | 'if-none-match'
  | 'if-match'
  | 'range'
  | 'range-unsatisfiable'
  | 'redirect-hop';

export interface Exchange {
  probe: Probe;
  /** The OpenAPI operation it exercises, `GET /orders/{id}`, when known. */
  operation?: string;
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  response: {
    status: number;
    /** Lower-case names; a repeated field's values joined with `, ` (RFC 9110 §5.3). */
    headers: Record<string, string>;
    body: string;
    /** Bytes the server sent after a response that cannot have a body (HEAD, 204, 304 — RFC 9112 §6.3). */
    bytesAfterBodylessResponse?: number;
  };
  /** Where it came from, for the report: `recording.har#entry 12`. */
  where?: string;
}

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  exchange?: Exchange;
  /** The other answer a comparing rule looked at. */
  related?: Exchange;
  /** A location in an input file (an access-log line, the OpenAPI document's path entry). */
  location?: { file: string; line?: number };
}

export interface AuditReport {
  tool: { name: 'receipt audit'; version: string };
  input: { kind: 'live' | 'har' | 'access-log'; source: string; openapi?: string };
  exchanges: number;
  findings: Finding[];
  /** What was not sent, and why (writes without --allow-writes, cross-origin redirects, unresolved parameters). */
  skipped: string[];
  /** Access logs: the answers counted by class and by who made them. */
  summary?: Record<string, number>;
}
