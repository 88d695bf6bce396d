/**
 * An HTTPS listener's TLS as ALB configures it, over real TLS sockets: its `SslPolicy` (protocol versions and
 * ciphers from AWS's table, the server's cipher order, a client outside the policy refused and counted as
 * ClientTLSNegotiationErrorCount), its certificates chosen by SNI, and the access log's ssl_cipher / ssl_protocol
 * filled from the connection.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http2 from 'node:http2';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig, ListenerConfig } from '../../src/gateway/config.ts';
import { SECURITY_POLICIES, securityPolicy, type KeyPair } from '../../src/gateway/tls-policy.ts';
import { certificateFor } from '../support/certificates.ts';
import { curl, hasCurl } from '../support/curl.ts';
import { gatewayUnderTest } from '../support/gateway.ts';

const ok = { type: 'fixed-response' as const, statusCode: '200', contentType: 'text/plain' as const, messageBody: 'ok' };
const httpsConfig = (extra: Partial<ListenerConfig>): GatewayConfig => ({
  listeners: [
    { protocol: 'HTTP', port: 0, defaultActions: [ok] },
    { protocol: 'HTTPS', port: 0, defaultActions: [ok], ...extra },
  ],
  targetGroups: [{ name: 'none' }],
});

interface Handshake {
  protocol: string | null;
  cipher: string;
  /** The common name of the certificate the server presented, and its key's type. */
  subject: string;
  keyType: string;
  /** The HTTP status line of a GET sent over the connection. */
  status: string;
}

/** A TLS connection with the client's limits forced, then one HTTP/1.1 request on it; rejects when the handshake fails. */
function handshake(port: number, o: tls.ConnectionOptions & { target?: string } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], ...o }, () => {
      const peer = new crypto.X509Certificate(s.getPeerX509Certificate()!.raw);
      const result = { protocol: s.getProtocol(), cipher: s.getCipher().name, subject: /CN=([^\n]+)/.exec(peer.subject)?.[1] ?? peer.subject, keyType: String(peer.publicKey.asymmetricKeyType) };
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (text += d));
      s.on('end', () => resolve({ ...result, status: text.split('\r\n')[0]! }));
      s.end(`GET ${o.target ?? '/'} HTTP/1.1\r\nHost: ${o.servername || 'localhost'}\r\nConnection: close\r\n\r\n`);
    });
    s.on('error', reject);
  });
}

let rsa: KeyPair;
before(async () => {
  rsa = await certificateFor(['localhost']);
});

describe('SslPolicy: versions and ciphers from AWS’s table', () => {
  const gateways: Array<{ close: () => Promise<void> }> = [];
  after(async () => {
    for (const g of gateways) await g.close();
  });
  const start = async (sslPolicy: string) => {
    const g = await gatewayUnderTest(httpsConfig({ sslPolicy }), rsa);
    gateways.push(g);
    return { g, port: g.gateway.listener('https')!.port };
  };

  it('ELBSecurityPolicy-TLS13-1-3-2021-06 refuses a TLS 1.2 client, counts it, and serves TLS 1.3', async () => {
    const { g, port } = await start('ELBSecurityPolicy-TLS13-1-3-2021-06');
    await assert.rejects(handshake(port, { maxVersion: 'TLSv1.2' }), /protocol version|handshake/i);
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);
    const h = await handshake(port, { target: '/tls13' });
    assert.equal(h.protocol, 'TLSv1.3');
    assert.equal(h.status, 'HTTP/1.1 200 OK');
    const log = await g.logFor('/tls13');
    assert.equal(log.sslProtocol, 'TLSv1.3');
    assert.equal(log.sslCipher, h.cipher);
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);
  });

  it('ELBSecurityPolicy-TLS13-1-2-2021-06 takes TLS 1.2 with its ciphers, in the server’s order, and refuses one outside it', async () => {
    const { g, port } = await start('ELBSecurityPolicy-TLS13-1-2-2021-06');
    // The client prefers AES-256; ALB picks the first of *its* list the client has.
    const h = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256', target: '/tls12' });
    assert.equal(h.protocol, 'TLSv1.2');
    assert.equal(h.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
    assert.equal(h.status, 'HTTP/1.1 200 OK');
    const log = await g.logFor('/tls12');
    assert.equal(`${log.sslCipher} ${log.sslProtocol}`, 'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2');
    // AES128-SHA is in ELBSecurityPolicy-2016-08 but not in this policy.
    await assert.rejects(handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }), /handshake failure/i);
    await assert.rejects(handshake(port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }));
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 2);
  });

  it('ELBSecurityPolicy-2016-08 (the template default) still takes TLS 1.0 and AES128-SHA, and has no TLS 1.3', async () => {
    const { g, port } = await start('ELBSecurityPolicy-2016-08');
    const old = await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0' });
    assert.deepEqual([old.protocol, old.cipher, old.status], ['TLSv1', 'ECDHE-RSA-AES128-SHA', 'HTTP/1.1 200 OK']);
    const plainRsa = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' });
    assert.equal(plainRsa.cipher, 'AES128-SHA');
    await assert.rejects(handshake(port, { minVersion: 'TLSv1.3' }));
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);
  });

  it('ELBSecurityPolicy-TLS13-1-2-Res-2021-06 takes only the ECDHE GCM ciphers on TLS 1.2', async () => {
    const { port } = await start('ELBSecurityPolicy-TLS13-1-2-Res-2021-06');
    await assert.rejects(handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256' }));
    assert.equal((await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' })).cipher, 'ECDHE-RSA-AES256-GCM-SHA384');
  });

  it('a TLS 1.3 client limited to one suite gets it when the policy has it, over HTTP/2 too', async () => {
    const { g, port } = await start('ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06');
    const h = await handshake(port, { minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' });
    assert.deepEqual([h.protocol, h.cipher], ['TLSv1.3', 'TLS_CHACHA20_POLY1305_SHA256']);
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' });
    try {
      const status = await new Promise((resolve, reject) => {
        const req = session.request({ ':path': '/over-h2' });
        req.on('response', (headers) => resolve(headers[':status']));
        req.on('error', reject);
        req.resume();
      });
      assert.equal(status, 200);
    } finally {
      session.close();
    }
    const log = await g.logFor('/over-h2');
    assert.deepEqual([log.type, log.sslCipher, log.sslProtocol], ['h2', 'ECDHE-RSA-AES256-GCM-SHA384', 'TLSv1.2']);
  });

  it('curl outside the policy fails its handshake; inside it gets the page', { skip: !hasCurl && 'curl not installed' }, async () => {
    const { g, port } = await start('ELBSecurityPolicy-TLS13-1-2-2021-06');
    const url = `https://127.0.0.1:${port}/curl`;
    const refused = await curl(['-sS', '-k', '--tlsv1.2', '--tls-max', '1.2', '--ciphers', 'AES256-SHA', url]);
    assert.equal(refused.status, 35, refused.stderr); // CURLE_SSL_CONNECT_ERROR
    const accepted = await curl(['-sS', '-k', '--tlsv1.2', '--tls-max', '1.2', '--ciphers', 'ECDHE-RSA-AES256-SHA384', url]);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.equal(accepted.stdout, 'ok');
    assert.equal((await g.logFor('/curl')).sslCipher, 'ECDHE-RSA-AES256-SHA384');
    assert.equal(g.gateway.connections.tlsNegotiationErrors, 1);
  });

  it('every cipher of every policy is a name this Node’s OpenSSL knows, 3DES aside (docs/alb.md, "TLS")', () => {
    const known = new Set(tls.getCiphers().map((c) => c.toUpperCase()));
    const missing = new Set(Object.values(SECURITY_POLICIES).flatMap((p) => [...p.ciphers, ...p.suites].filter((c) => !known.has(c))));
    // 3DES is absent from Node 20's OpenSSL 3 build (a build that has it is fine too); any other gap is a typo.
    assert.deepEqual([...missing].filter((c) => c !== 'DES-CBC3-SHA'), []);
    // A post-quantum policy is its classical namesake's versions and ciphers.
    assert.equal(securityPolicy('ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09')?.policy, SECURITY_POLICIES['ELBSecurityPolicy-TLS13-1-2-Res-2021-06']);
    assert.equal(securityPolicy('ELBSecurityPolicy-Made-Up'), undefined);
  });
});

describe('certificates: the default one and the list, chosen by SNI', () => {
  it('serves each host its certificate, the default one without SNI or for a host none covers, ECDSA over RSA', async () => {
    const [shop, api, apiEc] = await Promise.all([certificateFor(['shop.example.test']), certificateFor(['api.example.test', '*.api.example.test']), certificateFor(['api.example.test'], 'ec')]);
    const arn = (n: string) => `arn:aws:acm:eu-west-1:123456789012:certificate/${n}`;
    const g = await gatewayUnderTest(httpsConfig({ sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', certificates: [{ arn: arn('shop') }, { arn: arn('api') }, { arn: arn('api-ec') }, { arn: arn('none') }] }), {
      ...rsa,
      byArn: { [arn('shop')]: shop, [arn('api')]: api, [arn('api-ec')]: apiEc },
    });
    try {
      const port = g.gateway.listener('https')!.port;
      const served = async (servername?: string) => {
        const h = await handshake(port, servername ? { servername } : {});
        assert.equal(h.status, 'HTTP/1.1 200 OK');
        return h.subject;
      };
      assert.equal(await served('shop.example.test'), 'shop.example.test');
      assert.equal(await served('www.api.example.test'), 'api.example.test');
      // Two certificates cover api.example.test: ALB prefers the ECDSA one.
      assert.equal((await handshake(port, { servername: 'api.example.test' })).keyType, 'ec');
      assert.equal(await served('other.example.test'), 'shop.example.test');
      assert.equal(await served(), 'shop.example.test');
      assert.equal(g.gateway.connections.tlsNegotiationErrors, 0);
    } finally {
      await g.close();
    }
  });
});
