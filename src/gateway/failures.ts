/**
 * The gateway's failure mapping — every status the gateway makes itself, and why — exactly as AWS documents ALB
 * (ALB.md §1.2, §1.3; the seed §3 "AWS ALB STATUS CODE SOURCES"). One table, so the proxy never decides a status.
 *
 * `reason` goes to the access log's `error_reason` field. ALB itself fills that field only for auth, Lambda and WAF
 * failures; this emulator also names the cause of every 5xx it makes, which is what a user debugging one wants.
 */

export interface GatewayFailure {
  status: 400 | 405 | 408 | 460 | 463 | 501 | 502 | 503 | 504;
  reason: string;
}

export const FAILURES = {
  // 503 — "The target groups for the load balancer have no registered targets", or all are `unused` [TScur].
  noRegisteredTargets: { status: 503, reason: 'NoRegisteredTargets' },
  // 502 #1 — TCP RST from the target when establishing the connection.
  connectionRefused: { status: 502, reason: 'TargetConnectionRefused' },
  // 504 #1 — no connection within the connection timeout (10 s).
  connectTimeout: { status: 504, reason: 'TargetConnectTimeout' },
  // 504 #2 — connected, but no response before the idle timeout.
  responseTimeout: { status: 504, reason: 'TargetResponseTimeout' },
  // 504 #4 — a Content-Length larger than the body; ALB times out waiting for the missing bytes.
  shortBody: { status: 504, reason: 'TargetResponseIncomplete' },
  // 502 #3 — the target closed the connection (RST or FIN) while ALB had an outstanding request.
  closedMidRequest: { status: 502, reason: 'TargetClosedConnection' },
  // 502 #4 — a malformed response or invalid HTTP headers.
  malformedResponse: { status: 502, reason: 'TargetMalformedResponse' },
  // 502 #5 — response headers over 32 K.
  headersTooLarge: { status: 502, reason: 'TargetResponseHeadersTooLarge' },
  // 502 #7 — the deregistration delay elapsed while the target was still handling the request.
  deregistrationDelay: { status: 502, reason: 'DeregistrationDelayElapsed' },
  // 2 host unreachable etc.: also 502 #2.
  unreachable: { status: 502, reason: 'TargetUnreachable' },
  // Client side: 400 malformed request / sizes; 405 TRACE; 501 Transfer-Encoding; 460 client gave up first.
  malformedRequest: { status: 400, reason: 'MalformedRequest' },
  requestTooLarge: { status: 400, reason: 'RequestHeadersTooLarge' },
  trace: { status: 405, reason: 'TraceNotAllowed' },
  // 408 — the client did not send a whole request head within the idle timeout.
  clientTimeout: { status: 408, reason: 'ClientRequestTimeout' },
  transferEncoding: { status: 501, reason: 'UnsupportedTransferEncoding' },
  clientClosed: { status: 460, reason: 'ClientClosedConnection' },
  // 463 — X-Forwarded-For with more than 30 addresses.
  tooManyForwarded: { status: 463, reason: 'TooManyForwardedAddresses' },
} as const satisfies Record<string, GatewayFailure>;

/**
 * Maps what the upstream client (undici) reports to ALB's answer.
 */
export function classifyUpstreamError(err: unknown): GatewayFailure {
  const e = err as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  const code = e?.code ?? '';
  const cause = e?.cause?.code ?? '';
  if (code === 'ECONNREFUSED' || cause === 'ECONNREFUSED') return FAILURES.connectionRefused;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return FAILURES.connectTimeout;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return FAILURES.responseTimeout;
  if (code === 'UND_ERR_BODY_TIMEOUT') return FAILURES.shortBody;
  if (code === 'UND_ERR_HEADERS_OVERFLOW') return FAILURES.headersTooLarge;
  // undici's parser error often has no code; its name and message are stable.
  if (code.startsWith('HPE_') || e?.name === 'HTTPParserError' || /does not match the HTTP\/1\.1 protocol/.test(e?.message ?? '')) {
    return FAILURES.malformedResponse;
  }
  if (['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code || cause)) return FAILURES.unreachable;
  // UND_ERR_SOCKET ("other side closed"), ECONNRESET, EPIPE, content-length mismatch on close: closed mid-request.
  return FAILURES.closedMidRequest;
}

/**
 * Maps what Node's HTTP parser refused in a client's request (its `clientError` codes) to ALB's answer:
 * the idle timeout → 408; a bad Transfer-Encoding → 501; headers over the size limit or anything malformed → 400.
 */
export function classifyClientError(code: string | undefined): GatewayFailure {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return FAILURES.clientTimeout;
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return FAILURES.transferEncoding;
    case 'HPE_HEADER_OVERFLOW':
      return FAILURES.requestTooLarge;
    default:
      return FAILURES.malformedRequest;
  }
}
