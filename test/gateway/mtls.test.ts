/**
 * ALB's mutual TLS over real TLS sockets (AWS, "Mutual authentication with TLS in Application Load Balancer"):
 * verify mode refuses at the handshake a client with no certificate, one from another CA, a revoked one and an
 * expired one (unless IgnoreClientCertificateExpiry), counting each as ClientTLSNegotiationErrorCount; a valid
 * one reaches the target with the X-Amzn-Mtls-Clientcert-* fields. Passthrough forwards any certificate's PEM in
 * X-Amzn-Mtls-Clientcert, and a request without one goes on without it. Certificates are made by openssl.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig, ListenerConfig } from '../../src/gateway/config.ts';
import type { KeyPair } from '../../src/gateway/tls-policy.ts';
import { formatTemplate, fromCloudFormation, parseTemplate, terraformToCloudFormation, toCloudFormation } from '../../src/gateway/aws/index.ts';
import { parseConnectionLine } from '../../src/gateway/connection-log.ts';
import { certificateFor } from '../support/certificates.ts';
import { clientCa, type ClientCa, type ClientCert } from '../support/client-ca.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { runGatewayCommand } from '../support/gateway-command.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

const STORE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/clients/0123456789abcdef';
let server: KeyPair;
let target: HttpTarget;
let trusted: ClientCa;
let other: ClientCa;
const gateways: Array<{ close: () => Promise<void> }> = [];

before(async () => {
  server = await certificateFor(['localhost']);
  target = await httpTarget('t');
  trusted = clientCa('Receipt Test Client CA');
  other = clientCa('Some Other CA');
});
after(async () => {
  for (const g of gateways) await g.close();
  await target.close();
  trusted.remove();
  other.remove();
});

async function start(mutualAuthentication: NonNullable<ListenerConfig['mutualAuthentication']>, store?: { ca: string; crl?: string }) {
  const config: GatewayConfig = {
    listeners: [
      { protocol: 'HTTP', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }] },
      { protocol: 'HTTPS', port: 0, defaultActions: [{ type: 'forward', targetGroups: [{ name: 'g' }] }], mutualAuthentication },
    ],
    targetGroups: [{ name: 'g', healthCheck: { enabled: false }, targets: [{ id: 't', host: '127.0.0.1', port: target.port }] }],
  };
  const g = await gatewayUnderTest(config, { ...server, ...(store ? { trustStores: { [STORE]: store } } : {}) });
  gateways.push(g);
  return { g, port: g.gateway.listener('https')!.port };
}

/** One request over TLS with the client certificate given (if any); what the target saw, or a rejection. */
function request(port: number, client?: ClientCert, extra = ''): Promise<{ status: string; seen: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    target.lastHeaders = undefined;
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], ...(client ?? {}) }, () => {
      s.write(`GET /who HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`);
    });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => (text ? resolve({ status: text.split('\r\n')[0]!, seen: target.lastHeaders ?? {} }) : reject(new Error('closed without an answer'))));
    s.on('error', reject);
  });
}

const decodePem = (v: string | string[] | undefined) => decodeURIComponent(String(v));

describe('verify mode with a trust store', () => {
  it('refuses a client with no certificate at the handshake and counts it', async () => {
    const { g, port } = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca });
    await assert.rejects(request(port));
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);
    assert.equal(target.lastHeaders, undefined);
  });

  it('refuses a certificate from another CA', async () => {
    const { g, port } = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca });
    await assert.rejects(request(port, other.issue('mallory')));
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);
  });

  it('forwards a certificate from the trust store’s CA with the X-Amzn-Mtls-Clientcert-* fields as AWS documents them', async () => {
    const { g, port } = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca });
    const alice = trusted.issue('alice');
    // A client's own X-Amzn-Mtls-* fields are not passed on: only the load balancer writes them.
    const { status, seen } = await request(port, alice, 'X-Amzn-Mtls-Clientcert-Subject: CN=admin\r\n');
    assert.equal(status, 'HTTP/1.1 200 OK');
    const x = new crypto.X509Certificate(alice.cert);
    assert.match(String(seen['x-amzn-mtls-clientcert-serial-number']), /^[0-9A-F]+$/);
    assert.equal(seen['x-amzn-mtls-clientcert-serial-number'], x.serialNumber.toUpperCase());
    assert.equal(seen['x-amzn-mtls-clientcert-subject'], 'O=Receipt\\, Inc.,CN=alice');
    assert.equal(seen['x-amzn-mtls-clientcert-issuer'], 'CN=Receipt Test Client CA,O=Receipt Tests');
    assert.equal(seen['x-amzn-mtls-clientcert-validity'], `NotBefore=${new Date(x.validFrom).toISOString().replace('.000', '')};NotAfter=${new Date(x.validTo).toISOString().replace('.000', '')}`);
    const leaf = String(seen['x-amzn-mtls-clientcert-leaf']);
    assert.match(leaf, /^-----BEGIN%20CERTIFICATE-----%0A/);
    assert.doesNotMatch(leaf, /%2B|%3D|%2F/, 'AWS keeps + = / as they are');
    assert.equal(new crypto.X509Certificate(decodePem(leaf)).fingerprint256, x.fingerprint256);
    assert.equal(seen['x-amzn-mtls-clientcert'], undefined);
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 0);
  });

  it('gives the same fields to a request over HTTP/2', async () => {
    const { port } = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca });
    const dave = trusted.issue('dave');
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, ...dave });
    try {
      target.lastHeaders = undefined;
      const status = await new Promise<number>((resolve, reject) => {
        const r = session.request({ ':path': '/h2' });
        r.on('response', (h) => resolve(Number(h[':status'])));
        r.on('error', reject);
        r.resume();
      });
      assert.equal(status, 200);
      assert.equal(target.lastHeaders!['x-amzn-mtls-clientcert-subject'], 'O=Receipt\\, Inc.,CN=dave');
      assert.equal(target.lastHeaders!['x-amzn-mtls-clientcert-serial-number'], new crypto.X509Certificate(dave.cert).serialNumber.toUpperCase());
    } finally {
      session.close();
    }
  });

  it('refuses a certificate the revocation list names, and still accepts another', async () => {
    const bob = trusted.issue('bob');
    const carol = trusted.issue('carol');
    const crl = trusted.revoke(bob);
    const { g, port } = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca, crl });
    await assert.rejects(request(port, bob));
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);
    assert.equal((await request(port, carol)).status, 'HTTP/1.1 200 OK');
  });

  it('refuses an expired certificate, unless IgnoreClientCertificateExpiry', async () => {
    const old = trusted.issue('old', { expired: true });
    const strict = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca });
    await assert.rejects(request(strict.port, old));
    assert.equal(strict.g.gateway.connections.tlsNegotiationErrors, 1);

    const lenient = await start({ mode: 'verify', trustStore: STORE, ignoreClientCertificateExpiry: true }, { ca: trusted.ca });
    const { status, seen } = await request(lenient.port, old);
    assert.equal(status, 'HTTP/1.1 200 OK');
    assert.equal(seen['x-amzn-mtls-clientcert-validity'], 'NotBefore=2020-01-01T00:00:00Z;NotAfter=2020-02-01T00:00:00Z');
    // Ignoring the dates is not ignoring the issuer: an expired certificate from another CA is still refused.
    await assert.rejects(request(lenient.port, other.issue('stale', { expired: true })));
    await assert.rejects(request(lenient.port));
    assert.equal(lenient.g.gateway.connections.tlsNegotiationErrors, 2);
  });
});

describe('passthrough mode', () => {
  it('forwards any certificate’s PEM in X-Amzn-Mtls-Clientcert, unverified, and a request without one without it', async () => {
    const { g, port } = await start({ mode: 'passthrough' });
    const stranger = other.issue('stranger');
    const { status, seen } = await request(port, stranger);
    assert.equal(status, 'HTTP/1.1 200 OK');
    const pem = String(seen['x-amzn-mtls-clientcert']);
    assert.match(pem, /^-----BEGIN%20CERTIFICATE-----%0A/);
    assert.equal(new crypto.X509Certificate(decodePem(pem)).fingerprint256, new crypto.X509Certificate(stranger.cert).fingerprint256);
    assert.equal(seen['x-amzn-mtls-clientcert-subject'], undefined, 'the parsed fields are verify mode’s');

    const old = trusted.issue('old-pass', { expired: true });
    assert.equal((await request(port, old)).status, 'HTTP/1.1 200 OK');

    const none = await request(port, undefined, 'X-Amzn-Mtls-Clientcert: forged\r\n');
    assert.equal(none.status, 'HTTP/1.1 200 OK');
    assert.equal(none.seen['x-amzn-mtls-clientcert'], undefined);
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 0);
  });
});

describe('from a CloudFormation template: MutualAuthentication and TrustStore', () => {
  const FIXTURE = 'test/fixtures/aws/mtls.yaml';

  it('reads verify and passthrough, the trust store by the id its ARN resolves to, and writes them back', () => {
    const imported = fromCloudFormation(parseTemplate(fs.readFileSync(FIXTURE, 'utf8'), 'mtls.yaml'), { map: {} }, 'mtls.yaml');
    const [verified, passthrough] = imported.config.listeners;
    assert.deepEqual(verified!.mutualAuthentication, { mode: 'verify', trustStore: 'ClientTrustStore', ignoreClientCertificateExpiry: false });
    assert.deepEqual(passthrough!.mutualAuthentication, { mode: 'passthrough' });
    assert.deepEqual(imported.unsupported, [], 'mutual TLS and trust stores are emulated');
    assert.ok(imported.awsOnly.includes('ClientTrustStore.CaCertificatesBundleS3Bucket'), imported.awsOnly.join(', '));
    const again = fromCloudFormation(parseTemplate(formatTemplate(toCloudFormation(imported.config)), 'export'), { map: {} }, 'export');
    assert.deepEqual(again.config.listeners.map((l) => l.mutualAuthentication), [verified!.mutualAuthentication, passthrough!.mutualAuthentication]);
  });

  it('a Terraform plan: mutual_authentication with a trust store made in the plan, by its address', () => {
    const fixed = { type: 'fixed-response', fixed_response: [{ status_code: '200', content_type: 'text/plain' }] };
    const byStore = { trust_store_arn: { references: ['aws_lb_trust_store.clients.arn', 'aws_lb_trust_store.clients'] } };
    const plan = {
      planned_values: {
        root_module: {
          resources: [
            { address: 'aws_lb.shop', type: 'aws_lb', values: { name: 'shop', load_balancer_type: 'application' } },
            { address: 'aws_lb_trust_store.clients', type: 'aws_lb_trust_store', values: { name: 'clients', ca_certificates_bundle_s3_bucket: 'shop-trust', ca_certificates_bundle_s3_key: 'ca.pem' } },
            { address: 'aws_lb_trust_store_revocation.crl', type: 'aws_lb_trust_store_revocation', values: { trust_store_arn: null, revocations_s3_bucket: 'shop-trust', revocations_s3_key: 'crl.pem' } },
            {
              address: 'aws_lb_listener.https',
              type: 'aws_lb_listener',
              values: { port: 443, protocol: 'HTTPS', default_action: [fixed], mutual_authentication: [{ mode: 'verify', trust_store_arn: null, ignore_client_certificate_expiry: true }] },
            },
          ],
        },
      },
      configuration: {
        root_module: {
          resources: [
            { address: 'aws_lb_listener.https', expressions: { mutual_authentication: [byStore] } },
            { address: 'aws_lb_trust_store_revocation.crl', expressions: byStore },
          ],
        },
      },
    };
    const imported = fromCloudFormation(terraformToCloudFormation(plan, 'plan.json'), { map: {} }, 'plan.json');
    assert.deepEqual(imported.config.listeners[0]!.mutualAuthentication, { mode: 'verify', trustStore: 'aws_lb_trust_store.clients', ignoreClientCertificateExpiry: true });
    assert.deepEqual(imported.unsupported, []);
  });

  it('receipt gateway --trust-store ID=ca.pem,crl.pem: verify refuses at the handshake, forwards the fields; passthrough forwards the PEM', async () => {
    const alice = trusted.issue('alice-cmd');
    const revoked = trusted.issue('revoked-cmd');
    trusted.revoke(revoked);
    const r = await runGatewayCommand(
      ['--cloudformation', FIXTURE, '--map', `Web=127.0.0.1:${target.port}`, '--listen', '443=0', '--listen', '9443=0', '--trust-store', `ClientTrustStore=${trusted.caFile},${trusted.crlFile}`, '--control-port', '0', '--data-dir', path.join(trusted.dir, 'data')],
      /control +http/,
    );
    try {
      assert.doesNotMatch(r.err, /not emulated/, r.err);
      const [verify, pass] = [...(/listeners +(.+)/.exec(r.out)![1]!.matchAll(/https:\/\/127\.0\.0\.1:(\d+)/g))].map((m) => Number(m[1])) as [number, number];
      await assert.rejects(request(verify));
      await assert.rejects(request(verify, revoked));
      await assert.rejects(request(verify, other.issue('mallory-cmd')));
      const ok = await request(verify, alice);
      assert.equal(ok.status, 'HTTP/1.1 200 OK');
      assert.equal(ok.seen['x-amzn-mtls-clientcert-subject'], 'O=Receipt\\, Inc.,CN=alice-cmd');
      const passed = await request(pass, other.issue('stranger-cmd'));
      assert.equal(passed.status, 'HTTP/1.1 200 OK');
      assert.match(String(passed.seen['x-amzn-mtls-clientcert']), /^-----BEGIN%20CERTIFICATE-----%0A/);
      const control = /control +(http:\/\/\S+) +token (\S+)/.exec(r.out)!;
      const metrics = await (await fetch(`${control[1]}/metrics`, { headers: { authorization: `Bearer ${control[2]}` } })).text();
      assert.match(metrics, /^receipt_alb_client_tls_negotiation_error_count_total 3$/m);
      // The connection log beside the access log says which client was refused, and why (the banner names the file).
      const file = /connection log (\S+)/.exec(r.out)![1]!;
      assert.equal(file, path.join(trusted.dir, 'data', 'connection.log'));
      let statuses: string[] = [];
      for (let i = 0; i < 100 && statuses.length < 5; i++, await new Promise((res) => setTimeout(res, 20))) {
        statuses = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => parseConnectionLine(l)[10]!) : [];
      }
      assert.deepEqual(statuses, ['Failed:ClientCertMissing', 'Failed:ClientCertCrlHit', 'Failed:ClientCertUntrusted', 'Success', 'Success']);
    } finally {
      r.kill();
    }
  });

  it('a trust store file that cannot be read or is no CA bundle, or a verify listener without --trust-store: one line, exit 1', async () => {
    const base = ['--cloudformation', FIXTURE, '--map', 'Web=127.0.0.1:1', '--listen', '443=0', '--listen', '9443=0', '--control-port', '0', '--data-dir', path.join(trusted.dir, 'data2')];
    const missing = await runGatewayCommand([...base, '--trust-store', `ClientTrustStore=${path.join(trusted.dir, 'nope.pem')}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.err.trim(), /^receipt: --trust-store ClientTrustStore: ENOENT: no such file or directory, open '.*nope\.pem'$/);
    const notCa = path.join(trusted.dir, 'not-a-ca.pem');
    fs.writeFileSync(notCa, 'hello\n');
    const bad = await runGatewayCommand([...base, '--trust-store', `ClientTrustStore=${notCa}`]);
    assert.equal(bad.code, 1);
    assert.match(bad.err.trim(), /^receipt: --trust-store ClientTrustStore: .*not-a-ca\.pem: no PEM certificate in the CA bundle$/);
    const none = await runGatewayCommand(base);
    assert.equal(none.code, 1);
    assert.match(none.err.trim(), /^receipt: listener \d+: mutual TLS verify needs the trust store's CA bundle: --trust-store ClientTrustStore=ca\.pem\[,crl\.pem\]$/);
  });
});

describe('the connection log (AWS, "Connection logs for your Application Load Balancer")', () => {
  /** The newest connection-log line's fields by name, once the handshake it records has ended. */
  async function lastConnection(lines: string[], count: number) {
    for (let i = 0; i < 100 && lines.length < count; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lines.length, count, `expected ${count} connection-log lines: ${lines.join('\n')}`);
    const f = parseConnectionLine(lines.at(-1)!);
    assert.equal(f.length, 12, lines.at(-1));
    const [time, clientIp, clientPort, listenerPort, protocol, cipher, latency, subject, validity, serial, status, trace] = f as [string, ...string[]];
    return { time, clientIp, clientPort, listenerPort, protocol, cipher, latency, subject, validity, serial, status, trace };
  }

  it('writes one line per handshake: the leaf certificate and Success, or why verify mode refused it', async () => {
    const { g, port } = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca, crl: trusted.revoke(trusted.issue('revoked-one')) });
    const erin = trusted.issue('erin');
    assert.equal((await request(port, erin)).status, 'HTTP/1.1 200 OK');
    const ok = await lastConnection(g.connections, 1);
    assert.match(ok.time!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(ok.clientIp, '127.0.0.1');
    assert.match(ok.clientPort!, /^\d+$/);
    assert.equal(ok.listenerPort, String(port));
    assert.match(ok.protocol!, /^TLSv1\.[23]$/);
    assert.notEqual(ok.cipher, '-');
    assert.match(ok.latency!, /^\d+\.\d{3}$/);
    const leaf = new crypto.X509Certificate(erin.cert);
    assert.match(ok.subject!, /CN=erin/);
    assert.equal(ok.serial, leaf.serialNumber.toUpperCase());
    assert.match(ok.validity!, /^NotBefore=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ;NotAfter=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(ok.status, 'Success');
    // The access log's conn_trace_id for the request on that connection is the same: the two logs join on it.
    assert.equal((await g.logFor('/who')).connTraceId, ok.trace);

    await assert.rejects(request(port, other.issue('mallory-log')));
    const untrusted = await lastConnection(g.connections, 2);
    assert.equal(untrusted.status, 'Failed:ClientCertUntrusted');
    assert.match(untrusted.subject!, /CN=mallory-log/);

    await assert.rejects(request(port, trusted.issue('old-log', { expired: true })));
    assert.equal((await lastConnection(g.connections, 3)).status, 'Failed:ClientCertExpired');

    await assert.rejects(request(port));
    const none = await lastConnection(g.connections, 4);
    assert.equal(none.status, 'Failed:ClientCertMissing');
    assert.equal(none.subject, '-');
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 3);
  });

  it('names a revoked certificate ClientCertCrlHit', async () => {
    const frank = trusted.issue('frank');
    const { g, port } = await start({ mode: 'verify', trustStore: STORE }, { ca: trusted.ca, crl: trusted.revoke(frank) });
    await assert.rejects(request(port, frank));
    assert.equal((await lastConnection(g.connections, 1)).status, 'Failed:ClientCertCrlHit');
  });

  it('a handshake the security policy refuses: UnmappedConnectionError, no protocol or cipher; an HTTP connection: dashes', async () => {
    const { g, port } = await start({ mode: 'off' });
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, () => resolve(s));
        s.on('error', reject);
      }),
    );
    const refused = await lastConnection(g.connections, 1);
    assert.equal(refused.status, 'Failed:UnmappedConnectionError');
    assert.equal(refused.protocol, '-');
    assert.equal(refused.cipher, '-');
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);

    const res = await fetch(`${g.url}/who`);
    assert.equal(res.status, 200);
    const plain = await lastConnection(g.connections, 2);
    assert.deepEqual([plain.protocol, plain.cipher, plain.latency, plain.subject, plain.validity, plain.serial, plain.status], ['-', '-', '-', '-', '-', '-', '-']);
    assert.equal(plain.listenerPort, String(g.port));
    assert.match(plain.trace!, /^TID_[0-9a-f]{16}$/);
  });
});
