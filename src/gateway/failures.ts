/**
 * The gateway's failure mapping — every status the gateway makes itself, and why — exactly as AWS documents ALB
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html, "HTTP 502/503/504";
 * docs/status-codes.md, "What the load balancer answers itself: 502, 503, 504"). One table, so the proxy never decides a status.
 *
 * `reason` goes to the access log's `error_reason` field. ALB itself fills that field only for auth, Lambda and WAF
 * failures; this emulator also names the cause of every 5xx it makes, which is what a user debugging one wants.
 */

/**
 * Who is responsible — the first digit's meaning made explicit (docs/status-codes.md, "The first digit says who is
 * responsible"). `client`: the request was wrong (4xx).
 * `target`: a target did something wrong (502/504 with a target reason). `gateway`: the gateway itself could not do
 * its job (no target to send to, or a failure of its own); never counted or logged as a target's fault.
 */
export type Side = 'client' | 'gateway' | 'target';

export interface GatewayFailure {
  status: 400 | 401 | 405 | 408 | 417 | 460 | 463 | 500 | 501 | 502 | 503 | 504 | 561;
  reason: string;
  side: Side;
}

export const FAILURES = {
  // 503 — "The target groups for the load balancer have no registered targets", or all are `unused`.
  noRegisteredTargets: { status: 503, reason: 'NoRegisteredTargets', side: 'gateway' },
  // 502 #1 — TCP RST from the target when establishing the connection.
  connectionRefused: { status: 502, reason: 'TargetConnectionRefused', side: 'target' },
  // 504 #1 — no connection within the connection timeout (10 s).
  connectTimeout: { status: 504, reason: 'TargetConnectTimeout', side: 'target' },
  // 504 #2 — connected, but no response before the idle timeout.
  responseTimeout: { status: 504, reason: 'TargetResponseTimeout', side: 'target' },
  // 504 #4 — a Content-Length larger than the body; ALB times out waiting for the missing bytes.
  shortBody: { status: 504, reason: 'TargetResponseIncomplete', side: 'target' },
  // 502 #3 — the target closed the connection (RST or FIN) while ALB had an outstanding request.
  closedMidRequest: { status: 502, reason: 'TargetClosedConnection', side: 'target' },
  // 502 #4 — a malformed response or invalid HTTP headers.
  malformedResponse: { status: 502, reason: 'TargetMalformedResponse', side: 'target' },
  // 502 #5 — response headers over 32 K.
  headersTooLarge: { status: 502, reason: 'TargetResponseHeadersTooLarge', side: 'target' },
  // 502 #7 — the deregistration delay elapsed while the target was still handling the request.
  deregistrationDelay: { status: 502, reason: 'DeregistrationDelayElapsed', side: 'target' },
  // 502 #2 — host unreachable and the like.
  unreachable: { status: 502, reason: 'TargetUnreachable', side: 'target' },
  // 502 — a target group with Protocol HTTPS whose target could not complete a TLS handshake (AWS troubleshooting:
  // "an SSL handshake error … when connecting to a target"; CloudWatch's TargetTLSNegotiationErrorCount).
  tlsNegotiation: { status: 502, reason: 'TargetTLSNegotiationError', side: 'target' },
  // A jwt-validation action whose issuer's key set could not be fetched (unreachable, not a JWKS): the token cannot
  // be judged, and the fault is not the client's.
  jwksUnavailable: { status: 500, reason: 'JwksUnavailable', side: 'gateway' },
  // The gateway could not write the request it meant to forward, or failed in its own code. A 500 — ALB counts its
  // own failures in HTTPCode_ELB_500_Count — never a 502, which would say a target answered badly.
  forwardFailed: { status: 500, reason: 'GatewayForwardFailed', side: 'gateway' },
  internalError: { status: 500, reason: 'GatewayInternalError', side: 'gateway' },
  // A rule transform's regex matched, but what it made is no Host or no request target (AWS: "If there is a pattern
  // match but the transform fails, we return an HTTP 500 error").
  transformFailed: { status: 500, reason: 'RequestTransformFailed', side: 'gateway' },
  // Client side: 400 malformed request / sizes; 405 TRACE; 501 Transfer-Encoding; 460 client gave up first.
  malformedRequest: { status: 400, reason: 'MalformedRequest', side: 'client' },
  requestTooLarge: { status: 400, reason: 'RequestHeadersTooLarge', side: 'client' },
  // RFC 9112 §3.2: no Host in HTTP/1.1, more than one, or one that is not `host[:port]` → 400.
  invalidHost: { status: 400, reason: 'InvalidHostHeader', side: 'client' },
  // RFC 9112 §3.2: a request target in none of the forms its method allows.
  invalidRequestTarget: { status: 400, reason: 'InvalidRequestTarget', side: 'client' },
  // ALB's desync mitigation refused the request (the classification is in the access log).
  desyncBlocked: { status: 400, reason: 'DesyncMitigationBlocked', side: 'client' },
  // 401 — a rule's jwt-validation action (AWS, "Verify JWTs using an Application Load Balancer"): no bearer token in
  // Authorization, or one that does not verify (signature, iss, exp, nbf, iat, the configured claims). The answer
  // carries RFC 6750 §3's Bearer challenge (phases/authenticate.ts).
  jwtMissing: { status: 401, reason: 'JwtMissing', side: 'client' },
  jwtInvalid: { status: 401, reason: 'JwtInvalid', side: 'client' },
  // ALB's authenticate-oidc / authenticate-cognito (phases/authenticate.ts, authenticate-oidc.ts). The reasons are the
  // access log's own error reason codes (AWS, "Access logs for your Application Load Balancer", "Error reason codes");
  // the statuses follow AWS's troubleshooting page: 401 when the sign-in itself is not valid, 500 when the load
  // balancer could not reach the provider or could not finish, 561 when the provider answered the sign-in with an error.
  // OnUnauthenticatedRequest `deny`: 401. AWS lists no reason code for it; `AuthDenied` is Receipt's name.
  authDenied: { status: 401, reason: 'AuthDenied', side: 'client' },
  // A session cookie that does not open: changed, cut, or sealed by another gateway (a restart makes a new key).
  authInvalidCookie: { status: 401, reason: 'AuthInvalidCookie', side: 'client' },
  // The callback (/oauth2/idpresponse) without `state`, or with one this gateway did not make (or made too long ago).
  authMissingState: { status: 401, reason: 'AuthMissingStateParam', side: 'client' },
  authInvalidState: { status: 401, reason: 'AuthInvalidStateParam', side: 'client' },
  // The AWSALBAuthNonce cookie that ties `state` to the browser: absent, or not the one `state` was made for.
  authMissingNonce: { status: 401, reason: 'AuthMissingAWSALBAuthNonce', side: 'client' },
  authInvalidNonce: { status: 401, reason: 'AuthInvalidAWSALBAuthNonce', side: 'client' },
  authMissingCode: { status: 401, reason: 'AuthMissingCodeParam', side: 'client' },
  // An HTTP/1.0 request without Host where a sign-in needs one: no redirect_uri or return URL can be built from it.
  authMissingHost: { status: 401, reason: 'AuthMissingHostHeader', side: 'client' },
  // The token endpoint refused the code (RFC 6749 §5.2 `invalid_grant`), or answered with no usable tokens.
  authInvalidGrant: { status: 401, reason: 'AuthInvalidGrantError', side: 'client' },
  authInvalidTokenResponse: { status: 401, reason: 'AuthInvalidTokenResponse', side: 'client' },
  // The ID token's iss, aud, exp or nonce is not what this sign-in expects (OIDC Core §3.1.3.7).
  authInvalidIdToken: { status: 401, reason: 'AuthInvalidIdToken', side: 'client' },
  authInvalidUserinfo: { status: 401, reason: 'AuthInvalidUserinfoResponse', side: 'client' },
  // The provider could not be reached, or did not answer within 5 s.
  authTokenConnection: { status: 500, reason: 'AuthTokenEpRequestConnectionError', side: 'gateway' },
  authTokenTimeout: { status: 500, reason: 'AuthTokenEpRequestTimeout', side: 'gateway' },
  authUserinfoConnection: { status: 500, reason: 'AuthUserinfoEpRequestConnectionError', side: 'gateway' },
  authUserinfoTimeout: { status: 500, reason: 'AuthUserinfoEpRequestTimeout', side: 'gateway' },
  // The user's claims are over 11 KB: more than the session cookie can carry.
  authUserinfoTooLarge: { status: 500, reason: 'AuthUserinfoResponseSizeExceeded', side: 'gateway' },
  authUnhandled: { status: 500, reason: 'AuthUnhandledException', side: 'gateway' },
  // The provider sent the user back with an error (OIDC Core §3.1.2.6, e.g. access_denied). AWS's troubleshooting
  // page gives 561 and no reason code; `AuthIdpError` is Receipt's name.
  authIdpError: { status: 561, reason: 'AuthIdpError', side: 'gateway' },
  trace: { status: 405, reason: 'TraceNotAllowed', side: 'client' },
  // The gateway is a reverse proxy, not a forward one: it opens no tunnels (RFC 9110 §9.3.6).
  connect: { status: 405, reason: 'ConnectNotAllowed', side: 'client' },
  // RFC 9110 §10.1.1: an expectation other than 100-continue cannot be met.
  expectation: { status: 417, reason: 'ExpectationFailed', side: 'client' },
  // 408 — the client did not send a whole request head within the idle timeout.
  clientTimeout: { status: 408, reason: 'ClientRequestTimeout', side: 'client' },
  transferEncoding: { status: 501, reason: 'UnsupportedTransferEncoding', side: 'client' },
  clientClosed: { status: 460, reason: 'ClientClosedConnection', side: 'client' },
  // 463 — X-Forwarded-For with more than 30 addresses.
  tooManyForwarded: { status: 463, reason: 'TooManyForwardedAddresses', side: 'client' },
} as const satisfies Record<string, GatewayFailure>;

/**
 * Maps what the gateway's one client to targets reports to ALB's answer (upstream.ts, for requests, WebSocket
 * upgrades and health checks: socket errors, its TARGET_*_TIMEOUT codes, and response-parser.ts's errors under
 * llhttp's HPE_* names). Only a network or protocol failure of the target is the target's; an error the
 * gateway's own code raised (Node's `ERR_*`: a header it could not write, a bad argument) is the gateway's, and so is
 * anything unrecognised — blaming a target needs evidence.
 */
export function classifyUpstreamError(err: unknown): GatewayFailure {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return FAILURES.forwardFailed;
  switch (code) {
    case 'ECONNREFUSED':
      return FAILURES.connectionRefused;
    case 'TARGET_CONNECT_TIMEOUT':
      return FAILURES.connectTimeout;
    case 'TARGET_HEADERS_TIMEOUT':
      return FAILURES.responseTimeout;
    case 'TARGET_BODY_TIMEOUT':
      return FAILURES.shortBody;
    case 'HPE_HEADER_OVERFLOW':
      return FAILURES.headersTooLarge;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return FAILURES.unreachable;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'ETIMEDOUT':
      return FAILURES.closedMidRequest;
    case 'EPROTO':
      return FAILURES.tlsNegotiation;
    default:
      if (code.startsWith('HPE_')) return FAILURES.malformedResponse;
      // OpenSSL's verdict on the target's side of a handshake (it spoke no TLS, or none the gateway accepts).
      if (code.startsWith('ERR_SSL_')) return FAILURES.tlsNegotiation;
      return FAILURES.forwardFailed;
  }
}

/**
 * Maps what Node's HTTP parser refused in a client's request (its `clientError` codes) to ALB's answer:
 * the idle timeout → 408; a Transfer-Encoding other than chunked → 501; headers over the size limit or anything
 * malformed (both Transfer-Encoding and Content-Length among them) → 400.
 */
export function classifyClientError(code: string | undefined, message = ''): GatewayFailure {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return FAILURES.clientTimeout;
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // Both Transfer-Encoding and Content-Length: RFC 9112 §6.3 allows treating it as an error — 400 and close.
      return /Content-Length/i.test(message) ? FAILURES.malformedRequest : FAILURES.transferEncoding;
    case 'HPE_HEADER_OVERFLOW':
      return FAILURES.requestTooLarge;
    default:
      return FAILURES.malformedRequest;
  }
}
