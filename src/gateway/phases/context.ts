/**
 * One request as the gateway knows it, from its first bytes to its access-log line: what came (facts), what the
 * checks and the rules made of it (classification, route), where it went (group, target), how long each part took,
 * and how it ended (status, failure). Each phase (pipeline.ts) adds what it learns here; `toRecord()` turns it into
 * ALB's access-log record (access-log.ts) in one place, when the request is over.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AccessRecord, ConnectionType } from '../access-log.ts';
import type { Action } from '../config.ts';
import type { DesyncMode } from '../desync.ts';
import type { GatewayFailure } from '../failures.ts';
import type { HeaderAttributes } from '../headers.ts';
import type { ClientRequest, ClientResponse } from '../proxy.ts';
import type { RequestTarget } from '../request-target.ts';
import type { CompiledRule, Transformed } from '../rules.ts';
import { connTraceId } from '../connection-log.ts';
import { clientCertificateFields, type MtlsMode } from '../mtls.ts';
import { negotiated } from '../tls-policy.ts';
import type { StickyCookies } from '../cluster/stickiness.ts';
import type { Target } from '../cluster/target.ts';
import type { TargetGroup } from '../cluster/target-group.ts';
import type { RequestHead } from '../wire/head.ts';
import type { Framing } from '../wire/framing.ts';
import type { Responder } from '../respond/answer.ts';
import type { JwtCheck } from '../jwt-validation.ts';
import type { AuthFlow } from '../authenticate-oidc.ts';

/** What the phases need of the gateway: its settings, its target groups, its sticky-cookie key, its log. */
export interface Site {
  /** Receipt's additions to ALB's bytes (gateway.ts `receiptExtras`). */
  readonly extras: boolean;
  readonly desync: DesyncMode;
  readonly headerAttributes: HeaderAttributes;
  /** The gateway's own address: the Host of an HTTP/1.0 request that sent none (ALB puts its name there). */
  readonly hostName: string;
  readonly sticky: StickyCookies;
  group(name: string): TargetGroup;
  log(r: AccessRecord): void;
}

/** What the phases need of the listener a request came to. */
export interface ListenerView {
  readonly protocol: 'http' | 'https';
  readonly port: number;
  readonly rules: CompiledRule[];
  /** The listener's added response headers (name, value, …) and whether its own answers say `Server: awselb/2.0`. */
  readonly responseHeaders: string[];
  readonly serverHeader: boolean;
  /** The listener's mutual TLS mode (mtls.ts); off when absent. */
  readonly mtlsMode?: MtlsMode | undefined;
  /** Its rules' authenticate actions by the id their sign-in `state` carries; absent when none authenticates. */
  readonly authFlows?: ReadonlyMap<string, AuthFlow> | undefined;
}

// Shared placeholders until measure reads the request: nothing made per request for them.
const NO_FIELDS = Object.freeze([]) as unknown as string[];
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});
const NO_TARGET: RequestTarget = { ok: false, why: 'not read yet' };

/** The client's address as ALB logs it: an IPv4 client on a dual-stack socket without its `::ffff:` prefix. */
export const clientAddress = (socket: { remoteAddress?: string | undefined }) => (socket.remoteAddress ?? '').replace(/^::ffff:/, '');

export class RequestContext {
  // How the request came, and how it is answered (set where it enters: gateway.ts).
  req: ClientRequest | undefined;
  /** HTTP/1.x and HTTP/2: the answer's response object. */
  res: ClientResponse | undefined;
  /** A WebSocket upgrade, or bytes refused before a request: the client's socket itself. */
  socket: Duplex | undefined;
  /** An upgrade's bytes that came after its head (the first WebSocket frames). */
  upgradeHead: Buffer | undefined;
  responder!: Responder;
  /** An Expect other than 100-continue came (RFC 9110 §10.1.1). */
  expectationFailed = false;

  // Facts (measure): what the checks look at (checks.ts's RequestFacts).
  method = '-';
  url = '';
  httpVersion = '';
  rawHeaders: string[] = NO_FIELDS;
  headers: IncomingHttpHeaders = NO_HEADERS;
  headerBytes = 0;
  oversizeField = false;
  target: RequestTarget = NO_TARGET;
  hostOk = false;
  /** HTTP/1.x: the head as received, and the body's framing. */
  received: RequestHead | undefined;
  framing: Framing | undefined;
  /** The Host as sent (or the absolute-form's authority), with its port; '' when none. */
  hostWithPort = '';
  /** Origin-form path and query as routed, or the target as sent when it is in no form. */
  requestPath = '';

  /** When the request began (its first byte read, as ALB's request_creation_time), and the same on the monotonic clock. */
  readonly created = new Date();
  readonly t0 = performance.now();
  /** The client's address and port. */
  readonly clientIp: string;
  readonly clientPort: number | undefined;

  // What the log says of the request itself (measure).
  /** `METHOD scheme://host:port/path?query HTTP/x.y`, as ALB's `request` field. */
  requestLine = '- - - ';
  userAgent = '';
  /** X-Amzn-Trace-Id as the target gets it. */
  trace = '-';
  /** The host rules see: lower-cased, without its port. */
  host = '-';
  /** The X-Request-Id the target gets (the client's, or the trace's Root); undefined until the request is routed. */
  requestId: string | undefined;

  // Checks and rules.
  /** Desync mitigation's tier and reason for a request that is not Compliant. */
  classification: { tier: string; reason: string } | undefined;
  /** Forward it, then reuse neither connection (an Ambiguous request in defensive mode). */
  closeConnections = false;
  /** The path and query rules match (without the `?`). */
  path = '';
  query = '';
  action: Action | undefined;
  /** The rule's jwt-validation, when it has one (phases/authenticate.ts). */
  jwt: JwtCheck | undefined;
  /** The rule's authenticate action, when it has one (phases/authenticate.ts). */
  auth: AuthFlow | undefined;
  /**
   * The identity fields the target gets from a sign-in (x-amzn-oidc-*), or none for an `allow`ed anonymous request;
   * undefined on a rule without an authenticate action. When defined, the client's own x-amzn-oidc-* are dropped.
   */
  oidcFields: string[] | undefined;
  /** The actions run before the final one (authenticate, jwt-validation), for the log's actions_executed (ALB lists each, in order). */
  preActions: string[] | undefined;
  /** The Host the target gets (ALB's rewriting). */
  forwardHost = '';
  /** What the target's request line carries: origin-form, or `*`. */
  targetPath = '';
  /** 1–50000 for a rule, 0 for the default rule, -1 for an error while evaluating. */
  rulePriority: number | undefined;
  /** The action run: forward, fixed-response or redirect. */
  actionType: string | undefined;
  redirectUrl: string | undefined;
  /** What the rule's transforms made of the Host and URL (rules.ts `applyTransforms`); undefined when it has none. */
  transformed: Transformed | undefined;
  /** ALB's connection traceability id: the same for every request of one client connection. */
  readonly connTraceId: string;
  /** The TLS version and cipher the client's connection negotiated (tls-policy.ts): for the log and X-Amzn-Tls-*. */
  readonly negotiated: { sslCipher: string; sslProtocol: string } | undefined;
  /** With mutual TLS on, the client certificate's fields for the target (empty without one); undefined when off. */
  readonly clientCert: string[] | undefined;

  // Where it went (pick target), and what it carries there (rewrite fields, frame).
  targetGroup = '-';
  chosen: Target | undefined;
  /** `ip:port` of the target that got the request, as the log names it. */
  targetAddress: string | undefined;
  /** Fields the gateway adds to the target's answer (sticky-session cookies), given the answer's own. */
  responseFields: ((rawResponseFields: string[]) => string[]) | undefined;
  /** The target's fields, a flat list (name, value, …). */
  fields: string[] = NO_FIELDS;
  hasBody = false;
  contentLength: number | undefined;
  codings: string[] | undefined;

  // Timings, in seconds; -1 when not measured.
  requestTime = -1;
  targetTime = -1;
  responseTime = -1;

  // How it ended.
  status = 0;
  /** The target's own status, when a target answered. */
  targetStatus: number | undefined;
  errorReason: string | undefined;
  /** Bytes from the client (head and body), and body bytes to the client. */
  receivedBytes = 0;
  sentBytes = 0;

  constructor(
    readonly site: Site,
    readonly listener: ListenerView,
    readonly type: ConnectionType,
    socket: { remoteAddress?: string | undefined; remotePort?: number | undefined },
  ) {
    this.clientIp = clientAddress(socket);
    this.clientPort = socket.remotePort;
    this.connTraceId = connTraceId(socket);
    this.negotiated = negotiated(socket);
    this.clientCert = listener.mtlsMode && listener.mtlsMode !== 'off' ? clientCertificateFields(socket, listener.mtlsMode) : undefined;
  }

  /** A WebSocket upgrade: the same phases, then a tunnel instead of an exchange. */
  get upgrade(): boolean {
    return this.type === 'ws' || this.type === 'wss';
  }

  /** The client's address, as rule conditions read it (rules.ts's MatchContext). */
  get sourceIp(): string {
    return this.clientIp;
  }

  /** The request ended with a failure of the gateway's table (failures.ts): its status and reason. */
  failed(failure: GatewayFailure): void {
    this.status = failure.status;
    this.errorReason = failure.reason;
  }

  /** ALB's access-log record of this request. */
  toRecord(): AccessRecord {
    const r: AccessRecord = {
      type: this.type,
      time: this.created,
      client: `${this.clientIp || '-'}:${this.clientPort ?? 0}`,
      requestProcessingTime: this.requestTime,
      targetProcessingTime: this.targetTime,
      responseProcessingTime: this.responseTime,
      elbStatusCode: this.status,
      receivedBytes: this.receivedBytes,
      sentBytes: this.sentBytes,
      request: this.requestLine,
      userAgent: this.userAgent,
      targetGroup: this.targetGroup,
      traceId: this.trace,
      domainName: this.host,
      requestCreationTime: this.created,
      actionsExecuted: this.preActions ? (this.actionType ? [...this.preActions, this.actionType] : this.preActions) : this.actionType ? [this.actionType] : [],
    };
    if (this.targetAddress !== undefined) r.target = this.targetAddress;
    if (this.targetStatus !== undefined) r.targetStatusCode = this.targetStatus;
    if (this.requestId !== undefined) r.requestId = this.requestId;
    if (this.rulePriority !== undefined) r.matchedRulePriority = this.rulePriority;
    if (this.redirectUrl !== undefined) r.redirectUrl = this.redirectUrl;
    if (this.errorReason !== undefined) r.errorReason = this.errorReason;
    if (this.classification !== undefined) {
      r.classification = this.classification.tier;
      r.classificationReason = this.classification.reason;
    }
    r.connTraceId = this.connTraceId;
    if (this.transformed) {
      r.transformedHost = this.transformed.host ?? '-';
      r.transformedUri = this.transformed.url ?? '-';
    }
    if (this.negotiated) {
      r.sslCipher = this.negotiated.sslCipher;
      r.sslProtocol = this.negotiated.sslProtocol;
    }
    return r;
  }
}
