/**
 * ALB's connection log (AWS, "Connection logs for your Application Load Balancer",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-connection-logs.html): one line
 * per client connection, written when its TLS handshake ends — well or not — so a refused client certificate or a
 * client whose ciphers the security policy does not offer can be found, which the access log cannot show (a
 * connection that never carried a request has no access-log line).
 *
 *   time client_ip client_port listener_port tls_protocol tls_cipher tls_handshake_latency
 *   "leaf_client_cert_subject" leaf_client_cert_validity leaf_client_cert_serial_number "tls_verify_status" conn_trace_id
 *
 * `tls_verify_status` is `Success` or `Failed:<reason>`; a connection to an HTTP listener has `-` for every TLS
 * field, its verify status included. The conn_trace_id is the one the access log gives every request of the same
 * connection, so the two logs join on it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { rfc2253, validityOf } from './mtls.ts';

export interface ConnectionRecord {
  time: Date;
  clientIp: string;
  clientPort: number | undefined;
  listenerPort: number;
  tlsProtocol?: string | undefined;
  tlsCipher?: string | undefined;
  /** Milliseconds from the connection's first byte to the handshake's end. */
  handshakeMs?: number | undefined;
  /** RFC 2253, with the validity and serial number of the same leaf certificate. */
  subject?: string | undefined;
  validity?: string | undefined;
  serial?: string | undefined;
  /** `Success`, `Failed:<reason>`, or undefined (`-`) for a connection without TLS. */
  verifyStatus?: string | undefined;
  connTraceId: string;
}

/**
 * ALB's connection traceability id (`conn_trace_id`): one opaque value per client connection, the same on every
 * request it carries and on its connection-log line, so a connection's requests can be found together.
 */
const connIds = new WeakMap<object, string>();
export function connTraceId(socket: object): string {
  let id = connIds.get(socket);
  if (!id) connIds.set(socket, (id = `TID_${crypto.randomBytes(8).toString('hex')}`));
  return id;
}

/**
 * OpenSSL's verdict on a client certificate (Node's `authorizationError`, X509_V_ERR_* without the prefix) as the
 * reason ALB writes after `Failed:`. The AWS page names the reasons, not how its own verifier maps onto them; the
 * mapping is by meaning. (A verify-mode client that sent no certificate at all has no reason on the page; the
 * gateway writes `ClientCertMissing`, the name CloudFront's connection log gives the same case.)
 */
export function verifyFailure(code: string): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'ClientCertExpired';
    case 'CERT_NOT_YET_VALID':
      return 'ClientCertNotYetValid';
    case 'CERT_REVOKED':
      return 'ClientCertCrlHit';
    case 'UNABLE_TO_GET_CRL':
    case 'CRL_HAS_EXPIRED':
    case 'CRL_NOT_YET_VALID':
    case 'CRL_SIGNATURE_FAILURE':
    case 'UNABLE_TO_DECRYPT_CRL_SIGNATURE':
    case 'ERROR_IN_CRL_LAST_UPDATE_FIELD':
    case 'ERROR_IN_CRL_NEXT_UPDATE_FIELD':
      return 'ClientCertCrlProcessingError';
    case 'CERT_CHAIN_TOO_LONG':
    case 'PATH_LENGTH_EXCEEDED':
      return 'ClientCertMaxChainDepthExceeded';
    case 'INVALID_PURPOSE':
      return 'ClientCertPurposeInvalid';
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'CERT_SIGNATURE_FAILURE':
    case 'CERT_UNTRUSTED':
    case 'CERT_REJECTED':
      return 'ClientCertUntrusted';
    default:
      return 'ClientCertInvalid';
  }
}

/** The leaf certificate a client sent, as the log writes it; nothing when it sent none. */
export function leafOf(socket: tls.TLSSocket): Pick<ConnectionRecord, 'subject' | 'validity' | 'serial'> {
  const leaf = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
  if (!leaf) return {};
  return { subject: rfc2253(leaf.subject), validity: validityOf(leaf), serial: leaf.serialNumber.toUpperCase() };
}

/** A time with microseconds, as ALB's logs write it (JavaScript's clock has milliseconds: the last three are 0). */
const time = (d: Date) => d.toISOString().replace(/Z$/, '000Z');

export function formatConnectionLine(r: ConnectionRecord): string {
  const dash = (v: string | number | undefined) => (v === undefined || v === '' ? '-' : String(v));
  const latency = r.handshakeMs === undefined ? '-' : (r.handshakeMs / 1000).toFixed(3);
  return `${time(r.time)} ${r.clientIp} ${dash(r.clientPort)} ${r.listenerPort} ${dash(r.tlsProtocol)} ${dash(r.tlsCipher)} ${latency} "${dash(r.subject).replace(/"/g, '\\"')}" ${dash(r.validity)} ${dash(r.serial)} "${dash(r.verifyStatus)}" ${r.connTraceId}`;
}

/** Fields of a connection-log line, quotes removed. */
export function parseConnectionLine(line: string): string[] {
  return (line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((f) => (f.startsWith('"') ? f.slice(1, -1).replace(/\\"/g, '"') : f));
}

/**
 * The log file. Connections are far fewer than requests (a keep-alive connection carries many), so lines are
 * gathered for one turn of the event loop and appended together.
 */
export class ConnectionLog {
  #stream: fs.WriteStream | undefined;
  #pending: string[] = [];
  #listeners: Array<(line: string, r: ConnectionRecord) => void> = [];

  constructor(opts: { file?: string }) {
    if (opts.file) {
      fs.mkdirSync(path.dirname(opts.file), { recursive: true });
      this.#stream = fs.createWriteStream(opts.file, { flags: 'a' });
    }
  }

  /** Every line as it is made (tests, the terminal). */
  onLine(f: (line: string, r: ConnectionRecord) => void): void {
    this.#listeners.push(f);
  }

  write(r: ConnectionRecord): void {
    const line = formatConnectionLine(r);
    for (const f of this.#listeners) f(line, r);
    if (!this.#stream) return;
    if (this.#pending.length === 0) setImmediate(() => this.#flush());
    this.#pending.push(line);
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#stream?.write(this.#pending.join('\n') + '\n');
    this.#pending = [];
  }

  async close(): Promise<void> {
    this.#flush();
    const s = this.#stream;
    this.#stream = undefined;
    if (s) await new Promise<void>((r) => s.end(r));
  }
}
