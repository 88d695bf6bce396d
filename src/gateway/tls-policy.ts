/**
 * An HTTPS listener's TLS as ALB configures it: its certificates (a default one, and a certificate list chosen by
 * SNI) and its security policy (`SslPolicy`: which protocol versions and ciphers a handshake may use).
 *
 * The policies are those of AWS's page "Security policies for your Application Load Balancer"
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html), written here
 * as Node's TLS options: `minVersion`/`maxVersion`, and one `ciphers` string with the OpenSSL names of the TLS 1.2
 * and older ciphers and the TLS 1.3 suites (Node hands the `TLS_*` names to SSL_CTX_set_ciphersuites). ALB picks
 * "the first cipher on the server's list that matches any one of the client's ciphers", so the server's order
 * wins (`honorCipherOrder`), in the order the page lists them.
 *
 * What Node 20's OpenSSL (3.0) cannot do as ALB does is said in docs/alb.md ("TLS"): DES-CBC3-SHA is not built in,
 * so ELBSecurityPolicy-TLS-1-0-2015-04 cannot offer it; TLS 1.0 and 1.1 sign the handshake with SHA-1/MD5, which
 * OpenSSL 3 refuses above security level 0, so the policies that allow them lower the level to 0; the post-quantum
 * policies (`-PQ-2025-09`) need ML-KEM key exchange, which arrives in OpenSSL 3.5, so they run with their
 * classical key exchange only and are named at start.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';
import { mtlsOptions, type MutualAuthentication, type TrustStoreMaterial } from './mtls.ts';

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface SecurityPolicy {
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** OpenSSL names of the TLS 1.0–1.2 ciphers, the server's order first. */
  ciphers: readonly string[];
  /** TLS 1.3 suites (empty when the policy has no TLS 1.3). */
  suites: readonly string[];
}

/** A certificate and its private key, PEM. */
export interface KeyPair {
  key: string;
  cert: string;
}

/**
 * What an HTTPS listener is given: the stand-in certificate (self-signed, tls.ts) and the user's own certificate
 * for each ARN they gave (`--certificate ARN=cert.pem,key.pem`). An ARN the listener names without one of its own
 * is served the stand-in.
 */
export interface TlsMaterial extends KeyPair {
  byArn?: Record<string, KeyPair>;
  /** Each trust store's CA bundle and revocation list, by its ARN (`--trust-store ARN=ca.pem[,crl.pem]`). */
  trustStores?: Record<string, TrustStoreMaterial>;
}

/** The listener settings this file reads (config.ts's listener). */
export interface ListenerTls {
  sslPolicy?: string | undefined;
  certificates?: Array<{ arn: string }> | undefined;
  mutualAuthentication?: MutualAuthentication | undefined;
}

/** ALB's default for listeners made by CloudFormation, the CLI and the CDK (the console's differs). */
export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';

// The ciphers of ELBSecurityPolicy-2016-08, in the page's order; every other policy is this list, narrowed.
const ALL_2016 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'AES128-GCM-SHA256',
  'AES128-SHA256',
  'AES128-SHA',
  'AES256-GCM-SHA384',
  'AES256-SHA256',
  'AES256-SHA',
] as const;
const TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;

/** Without the CBC ciphers whose MAC is SHA-1 (the `-SHA` ones). */
const noSha1 = (list: readonly string[]) => list.filter((c) => !c.endsWith('-SHA'));
/** Forward secrecy only: ECDHE key exchange. */
const fs = (list: readonly string[]) => list.filter((c) => c.startsWith('ECDHE-'));
const gcm = (list: readonly string[]) => list.filter((c) => c.includes('-GCM-'));
const p = (minVersion: TlsVersion, maxVersion: TlsVersion, ciphers: readonly string[]): SecurityPolicy => ({
  minVersion,
  maxVersion,
  ciphers: minVersion === 'TLSv1.3' ? [] : ciphers,
  suites: maxVersion === 'TLSv1.3' ? TLS13 : [],
});

/** AWS's policies for Application Load Balancers (the page above; its TLS and FS tables). */
export const SECURITY_POLICIES: Readonly<Record<string, SecurityPolicy>> = {
  'ELBSecurityPolicy-TLS13-1-3-2021-06': p('TLSv1.3', 'TLSv1.3', []),
  'ELBSecurityPolicy-TLS13-1-2-Res-2021-06': p('TLSv1.2', 'TLSv1.3', gcm(fs(ALL_2016))),
  'ELBSecurityPolicy-TLS13-1-2-2021-06': p('TLSv1.2', 'TLSv1.3', noSha1(fs(ALL_2016))),
  'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06': p('TLSv1.2', 'TLSv1.3', noSha1(ALL_2016)),
  'ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06': p('TLSv1.2', 'TLSv1.3', ALL_2016),
  'ELBSecurityPolicy-TLS13-1-1-2021-06': p('TLSv1.1', 'TLSv1.3', ALL_2016),
  'ELBSecurityPolicy-TLS13-1-0-2021-06': p('TLSv1', 'TLSv1.3', ALL_2016),
  'ELBSecurityPolicy-2016-08': p('TLSv1', 'TLSv1.2', ALL_2016),
  'ELBSecurityPolicy-2015-05': p('TLSv1', 'TLSv1.2', ALL_2016),
  'ELBSecurityPolicy-TLS-1-0-2015-04': p('TLSv1', 'TLSv1.2', [...ALL_2016, 'DES-CBC3-SHA']),
  'ELBSecurityPolicy-TLS-1-1-2017-01': p('TLSv1.1', 'TLSv1.2', ALL_2016),
  'ELBSecurityPolicy-TLS-1-2-2017-01': p('TLSv1.2', 'TLSv1.2', noSha1(ALL_2016)),
  'ELBSecurityPolicy-TLS-1-2-Ext-2018-06': p('TLSv1.2', 'TLSv1.2', ALL_2016),
  'ELBSecurityPolicy-FS-2018-06': p('TLSv1', 'TLSv1.2', fs(ALL_2016)),
  'ELBSecurityPolicy-FS-1-1-2019-08': p('TLSv1.1', 'TLSv1.2', fs(ALL_2016)),
  'ELBSecurityPolicy-FS-1-2-2019-08': p('TLSv1.2', 'TLSv1.2', fs(ALL_2016)),
  'ELBSecurityPolicy-FS-1-2-Res-2019-08': p('TLSv1.2', 'TLSv1.2', noSha1(fs(ALL_2016))),
  'ELBSecurityPolicy-FS-1-2-Res-2020-10': p('TLSv1.2', 'TLSv1.2', gcm(fs(ALL_2016))),
};

/** The ciphers this process's OpenSSL has: ALB lists some it does not (DES-CBC3-SHA on OpenSSL 3), left out of the list. */
const available = new Set(tls.getCiphers().map((c) => c.toUpperCase()));

/**
 * A policy by name: one of the table, or a post-quantum one (`…-PQ-2025-09`), which is its classical namesake
 * (`…-2021-06`) plus ML-KEM hybrid key exchange that Node 20 cannot offer (`pq: true`). Undefined when unknown.
 */
export function securityPolicy(name: string): { policy: SecurityPolicy; pq: boolean } | undefined {
  const direct = SECURITY_POLICIES[name];
  if (direct) return { policy: direct, pq: false };
  const m = /^(ELBSecurityPolicy-TLS13-.+)-PQ-2025-09$/.exec(name);
  const classical = m ? SECURITY_POLICIES[`${m[1]}-2021-06`] : undefined;
  return classical ? { policy: classical, pq: true } : undefined;
}

/** Node's options for one policy: versions, ciphers in the server's order, and the security level old TLS needs. */
export function policyOptions(policy: SecurityPolicy): tls.SecureContextOptions {
  // TLS 1.0 and 1.1 sign the handshake with MD5+SHA-1, refused by OpenSSL 3 above security level 0.
  const legacy = policy.minVersion === 'TLSv1' || policy.minVersion === 'TLSv1.1';
  const list = [...policy.suites, ...policy.ciphers.filter((c) => available.has(c))];
  return { minVersion: policy.minVersion, maxVersion: policy.maxVersion, ciphers: list.join(':') + (legacy ? ':@SECLEVEL=0' : ''), honorCipherOrder: true };
}

interface Candidate {
  context: tls.SecureContext;
  x509: crypto.X509Certificate;
}

/**
 * Of the certificates covering a host, ALB's choice: ECDSA over RSA, then the longest key, then the one valid
 * longest (AWS: "HTTPS listeners", certificate list). ALB also skips one the client cannot use; Node hands a
 * connection only one certificate from an SNI context (docs/alb.md, "TLS"), so here ECDSA wins whatever the client.
 */
function best(list: Candidate[]): Candidate | undefined {
  const rank = (c: Candidate) => {
    const k = c.x509.publicKey;
    return [k.asymmetricKeyType === 'ec' ? 1 : 0, k.asymmetricKeyDetails?.modulusLength ?? 0, Date.parse(c.x509.validTo)] as const;
  };
  return list.slice().sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return y[0] - x[0] || y[1] - x[1] || y[2] - x[2];
  })[0];
}

/**
 * Node's TLS server options for one HTTPS listener: its policy (Node's defaults when it has none), its default
 * certificate (the first it names), and the others chosen by SNI. A client naming no host, or a host no
 * certificate covers, gets the default certificate, as on ALB.
 */
export function tlsOptions(listener: ListenerTls, material: TlsMaterial): tls.TlsOptions {
  const named = listener.sslPolicy ? securityPolicy(listener.sslPolicy) : undefined;
  const mtls = listener.mutualAuthentication;
  const clientAuth = mtlsOptions(mtls, mtls?.trustStore ? material.trustStores?.[mtls.trustStore] : undefined);
  // The CA list and CRL belong to the secure context, so every SNI context carries them too.
  const policy = { ...(named ? policyOptions(named.policy) : {}), ...(clientAuth.ca ? { ca: clientAuth.ca } : {}), ...(clientAuth.crl ? { crl: clientAuth.crl } : {}) };
  const server = { ...policy, ...(clientAuth.requestCert ? { requestCert: true, rejectUnauthorized: clientAuth.rejectUnauthorized } : {}) };
  const pairs = (listener.certificates ?? []).map((c) => material.byArn?.[c.arn] ?? { key: material.key, cert: material.cert });
  const [first = { key: material.key, cert: material.cert }, ...rest] = pairs;
  if (rest.length === 0) return { ...server, key: first.key, cert: first.cert };
  const candidates: Candidate[] = [first, ...rest].map((pair) => ({ context: tls.createSecureContext({ ...policy, ...pair }), x509: new crypto.X509Certificate(pair.cert) }));
  return {
    ...server,
    key: first.key,
    cert: first.cert,
    SNICallback: (servername, cb) => cb(null, (best(candidates.filter((c) => c.x509.checkHost(servername) !== undefined)) ?? candidates[0]!).context),
  };
}

/** `cert.pem` and `key.pem` read and checked as a pair: a one-line reason when they are not. */
export function checkKeyPair(pair: KeyPair): string | undefined {
  try {
    tls.createSecureContext(pair);
    new crypto.X509Certificate(pair.cert);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The negotiated cipher (OpenSSL's name, as ALB's access log writes it) and protocol of a TLS socket. */
export function negotiated(socket: unknown): { sslCipher: string; sslProtocol: string } | undefined {
  const s = socket as Partial<tls.TLSSocket> | undefined;
  if (typeof s?.getCipher !== 'function' || typeof s.getProtocol !== 'function') return undefined;
  const cipher = s.getCipher();
  const protocol = s.getProtocol();
  return cipher?.name && protocol ? { sslCipher: cipher.name, sslProtocol: protocol } : undefined;
}
