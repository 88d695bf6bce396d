/**
 * ALB's mutual TLS (AWS, "Mutual authentication with TLS in Application Load Balancer",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/mutual-authentication.html).
 *
 * `verify`: the listener asks for a client certificate during the handshake and checks it against its trust store
 * (a CA bundle, with an optional revocation list); a client without a valid one fails the handshake, counted as
 * ALB counts it (ClientTLSNegotiationErrorCount), with no HTTP answer. The target then gets the leaf's serial
 * number, issuer, subject, validity and PEM in the `X-Amzn-Mtls-Clientcert-*` fields.
 * `passthrough`: any certificate (or none) is accepted unverified, and the chain the client sent goes to the target
 * in `X-Amzn-Mtls-Clientcert`, URL-encoded PEM.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';

export type MtlsMode = 'off' | 'verify' | 'passthrough';

export interface MutualAuthentication {
  mode: MtlsMode;
  trustStore?: string | undefined;
  ignoreClientCertificateExpiry?: boolean | undefined;
}

/** A trust store's contents: its CA bundle (PEM, one or more certificates) and its revocation list (PEM), if any. */
export interface TrustStoreMaterial {
  ca: string;
  crl?: string | undefined;
}

/**
 * Node's server options for a listener's mutual TLS. Verify mode asks for a certificate and has OpenSSL check it
 * against the trust store during the handshake, but does not let Node act on the verdict itself: Node would end the
 * connection without a word of why, and ALB's connection log says why (`Failed:ClientCertExpired`, …). The gateway
 * reads the verdict as soon as the handshake is done, before a byte of HTTP, and ends the connection there
 * (gateway.ts) — where Node's own check would have ended it. IgnoreClientCertificateExpiry is judged at the same
 * point (`admits`): OpenSSL has no "ignore the dates" switch Node exposes.
 */
export function mtlsOptions(mtls: MutualAuthentication | undefined, store: TrustStoreMaterial | undefined): tls.TlsOptions {
  if (!mtls || mtls.mode === 'off') return {};
  if (mtls.mode === 'passthrough') return { requestCert: true, rejectUnauthorized: false };
  if (!store) throw new Error(`trust store ${mtls.trustStore}: no CA bundle given`);
  return { requestCert: true, rejectUnauthorized: false, ca: store.ca, ...(store.crl ? { crl: store.crl } : {}) };
}

/** The certificates of a PEM bundle. */
const bundle = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new crypto.X509Certificate(c));

/**
 * Whether a verify-mode connection that ignores expiry may go on: OpenSSL accepted it, or its only fault is its
 * dates. OpenSSL reports the last fault it found, so an out-of-date certificate is also checked here to be signed
 * by a CA of the bundle (a certificate from another CA that is also expired must not pass as merely expired).
 */
export function admits(socket: tls.TLSSocket, store: TrustStoreMaterial): boolean {
  if (socket.authorized) return true;
  const why = String(socket.authorizationError ?? '');
  if (why !== 'CERT_HAS_EXPIRED' && why !== 'CERT_NOT_YET_VALID') return false;
  const leaf = socket.getPeerX509Certificate();
  return !!leaf && bundle(store.ca).some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
}

/**
 * URL-encoding as AWS writes the PEM: every byte escaped but letters, digits, `-_.~` and the base64 `+=/` (its
 * "+=/ as safe characters"), so a space is `%20` and a line end `%0A`.
 */
export const urlEncodePem = (pem: string) => encodeURIComponent(pem).replace(/%2B/g, '+').replace(/%3D/g, '=').replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * A distinguished name as RFC 2253 writes it (§2.1: the last RDN of the certificate's sequence first, `,` between
 * them). Node gives the name in the certificate's order, one RDN a line, its special characters already escaped
 * as §2.4 asks (OpenSSL's RFC 2253 string flags), so only the order and the separator change.
 */
export const rfc2253 = (name: string): string => name.split('\n').filter(Boolean).reverse().join(',');

const iso = (date: string) => new Date(date).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A certificate's validity as AWS writes it, in the target's field and in the connection log alike. */
export const validityOf = (cert: crypto.X509Certificate) => `NotBefore=${iso(cert.validFrom)};NotAfter=${iso(cert.validTo)}`;

/** The PEM of a certificate Node gave as DER. */
const pemOf = (raw: Buffer) => new crypto.X509Certificate(raw).toString();

/** The chain a client sent, leaf first (Node links each certificate to its issuer; a root links to itself). */
function presentedChain(socket: tls.TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate;
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(c.raw);
    c = c.issuerCertificate;
  }
  return out;
}

const cache = new WeakMap<object, string[]>();

/**
 * The fields a target gets for the client's certificate (name, value, …), once per connection: in verify mode
 * the leaf's serial number (hex), issuer and subject (RFC 2253), validity (ISO 8601) and PEM; in passthrough mode
 * the whole chain as sent, leaf first. Nothing without a certificate or with mutual TLS off.
 */
export function clientCertificateFields(socket: unknown, mode: MtlsMode | undefined): string[] {
  if (!mode || mode === 'off') return [];
  const s = socket as tls.TLSSocket;
  if (typeof s?.getPeerCertificate !== 'function') return [];
  const known = cache.get(s);
  if (known) return known;
  let fields: string[] = [];
  const chain = presentedChain(s);
  if (chain.length > 0) {
    if (mode === 'passthrough') fields = ['X-Amzn-Mtls-Clientcert', urlEncodePem(chain.map(pemOf).join(''))];
    else {
      const leaf = new crypto.X509Certificate(chain[0]!);
      fields = [
        'X-Amzn-Mtls-Clientcert-Serial-Number', leaf.serialNumber.toUpperCase(),
        'X-Amzn-Mtls-Clientcert-Issuer', rfc2253(leaf.issuer),
        'X-Amzn-Mtls-Clientcert-Subject', rfc2253(leaf.subject),
        'X-Amzn-Mtls-Clientcert-Validity', validityOf(leaf),
        'X-Amzn-Mtls-Clientcert-Leaf', urlEncodePem(leaf.toString()),
      ];
    }
  }
  cache.set(s, fields);
  return fields;
}

/** A trust store's files checked: a one-line reason when the bundle holds no certificate or OpenSSL cannot read them. */
export function checkTrustStore(store: TrustStoreMaterial): string | undefined {
  try {
    if (bundle(store.ca).length === 0) return 'no PEM certificate in the CA bundle';
    if (store.crl !== undefined && !/-----BEGIN X509 CRL-----/.test(store.crl)) return 'the revocation list is not a PEM CRL';
    tls.createSecureContext({ ca: store.ca, ...(store.crl ? { crl: store.crl } : {}) });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
