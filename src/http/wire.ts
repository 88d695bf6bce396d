/**
 * HTTP/1.1 responses read from the bytes of a connection (RFC 9112 §6: framing by status, Transfer-Encoding,
 * Content-Length, or the close). Used where what a server put on the wire matters more than what a client library
 * would make of it: the conformance tests and `receipt audit` (a body after a 204 is exactly what a library hides).
 * The text is latin1: one character per byte.
 */
export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
  trailers: Array<[string, string]>;
  header(name: string): string | undefined;
}

/** Splits a byte stream into the responses in it: 1xx, Content-Length, chunked (with trailers), or to the end. */
export function parseResponses(text: string, opts: { headRequests?: number[] } = {}): RawResponse[] {
  return parseResponseStream(text, opts).responses;
}

/**
 * The same, and `rest`: the bytes after the last complete response. A response that has no body by definition (to
 * HEAD, 1xx, 204, 304 — RFC 9112 §6.3 rule 1) ends at its blank line, so bytes a server sent after it show up here.
 * `stopAfterFinal`: one request's answer — stop at the first final (non-1xx) response and leave the rest unparsed.
 */
export function parseResponseStream(text: string, opts: { headRequests?: number[]; stopAfterFinal?: boolean } = {}): { responses: RawResponse[]; rest: string } {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine!)?.[1]);
    const headers = lines.map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
    });
    const header = (name: string) => headers.find(([k]) => k === name)?.[1];
    at = end + 4;
    let body = '';
    const trailers: Array<[string, string]> = [];
    const noBody = status < 200 || status === 204 || status === 304 || opts.headRequests?.includes(out.length);
    if (!noBody) {
      if (/chunked/i.test(header('transfer-encoding') ?? '')) {
        for (;;) {
          const lineEnd = text.indexOf('\r\n', at);
          const size = parseInt(text.slice(at, lineEnd), 16);
          at = lineEnd + 2;
          if (size === 0) {
            const tEnd = text.indexOf('\r\n\r\n', at - 2);
            for (const l of text.slice(at, tEnd).split('\r\n').filter(Boolean)) {
              const i = l.indexOf(':');
              trailers.push([l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()]);
            }
            at = tEnd + 4;
            break;
          }
          body += text.slice(at, at + size);
          at += size + 2;
        }
      } else if (header('content-length') !== undefined) {
        const n = Number(header('content-length'));
        body = text.slice(at, at + n);
        at += n;
      } else if (status >= 200 && status !== 101) {
        body = text.slice(at);
        at = text.length;
      }
    }
    out.push({ status, headers, body, trailers, header });
    if (status === 101 || (opts.stopAfterFinal && status >= 200)) break;
  }
  return { responses: out, rest: text.slice(at) };
}
