/**
 * TLS as a template configures it: a listener's `SslPolicy`, its `Certificates` and the `ListenerCertificate`
 * resources of its certificate list, read from CloudFormation and from a Terraform plan, written back by the
 * export, and run by `receipt gateway --cloudformation … --certificate ARN=cert.pem,key.pem` over real sockets.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { formatTemplate, fromCloudFormation, parseTemplate, terraformToCloudFormation, toCloudFormation } from '../../src/gateway/aws/index.ts';
import { certificateFor } from '../support/certificates.ts';
import { runGatewayCommand } from '../support/gateway-command.ts';

const FIX = 'test/fixtures/aws';
const ARN = (n: string) => `arn:aws:acm:eu-west-1:123456789012:certificate/${n}`;

/** One handshake and one GET; the served certificate's common name, the protocol and the body. */
function get(port: number, o: tls.ConnectionOptions = {}): Promise<{ subject: string; protocol: string | null; body: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...o }, () => {
      const peer = new crypto.X509Certificate(s.getPeerX509Certificate()!.raw);
      const head = { subject: /CN=([^\n]+)/.exec(peer.subject)?.[1] ?? peer.subject, protocol: s.getProtocol() };
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (text += d));
      s.on('end', () => resolve({ ...head, body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
      s.end(`GET / HTTP/1.1\r\nHost: ${o.servername || 'localhost'}\r\nConnection: close\r\n\r\n`);
    });
    s.on('error', reject);
  });
}

describe('SslPolicy and certificates from a template', () => {
  it('CloudFormation: the policy, the default certificate and the ListenerCertificate list; PQ and unknown policies named', () => {
    const imported = fromCloudFormation(parseTemplate(fs.readFileSync(path.join(FIX, 'tls.yaml'), 'utf8'), 'tls.yaml'), { map: {} }, 'tls.yaml');
    const [secure, pq, custom] = imported.config.listeners;
    assert.equal(secure!.sslPolicy, 'ELBSecurityPolicy-TLS13-1-2-2021-06');
    assert.deepEqual(secure!.certificates, [{ arn: ARN('shop') }, { arn: ARN('api') }, { arn: ARN('legacy') }]);
    assert.equal(pq!.sslPolicy, 'ELBSecurityPolicy-TLS13-1-3-PQ-2025-09');
    assert.equal(custom!.sslPolicy, undefined);
    assert.ok(imported.unsupported.includes('PostQuantum.SslPolicy = ELBSecurityPolicy-TLS13-1-3-PQ-2025-09: post-quantum (ML-KEM) key exchange — its versions and ciphers apply, with classical ECDHE only'), imported.unsupported.join('\n'));
    assert.ok(imported.unsupported.includes('Custom.SslPolicy = ELBSecurityPolicy-Made-Up-2030-01: a security policy this gateway does not know (Node’s TLS defaults apply)'), imported.unsupported.join('\n'));
    assert.equal(imported.unsupported.length, 2, imported.unsupported.join('\n'));

    // Written back, read again: the same listeners; the one on Node's defaults gets the AWS policy nearest to them.
    const again = fromCloudFormation(parseTemplate(formatTemplate(toCloudFormation(imported.config)), 'export'), { map: {} }, 'export');
    assert.deepEqual(again.config.listeners, [secure, pq, { ...custom, sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' }]);
  });

  it('an HTTPS listener with no SslPolicy gets ALB’s default for templates, ELBSecurityPolicy-2016-08', () => {
    const t = parseTemplate(fs.readFileSync(path.join(FIX, 'tls.yaml'), 'utf8'), 'tls.yaml');
    delete t.Resources!.Secure!.Properties.SslPolicy;
    assert.equal(fromCloudFormation(t, { map: {} }).config.listeners[0]!.sslPolicy, 'ELBSecurityPolicy-2016-08');
  });

  it('a Terraform plan: ssl_policy, certificate_arn and aws_lb_listener_certificate, a certificate made in the plan by its address', () => {
    const plan = {
      planned_values: {
        root_module: {
          resources: [
            { address: 'aws_lb.shop', type: 'aws_lb', values: { name: 'shop', load_balancer_type: 'application' } },
            {
              address: 'aws_lb_listener.https',
              type: 'aws_lb_listener',
              values: { port: 443, protocol: 'HTTPS', ssl_policy: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06', certificate_arn: ARN('shop'), default_action: [{ type: 'fixed-response', fixed_response: [{ status_code: '200', content_type: 'text/plain' }] }] },
            },
            { address: 'aws_lb_listener_certificate.api', type: 'aws_lb_listener_certificate', values: { listener_arn: null, certificate_arn: null } },
          ],
        },
      },
      configuration: {
        root_module: {
          resources: [
            { address: 'aws_lb_listener.https', expressions: { load_balancer_arn: { references: ['aws_lb.shop.arn', 'aws_lb.shop'] } } },
            { address: 'aws_lb_listener_certificate.api', expressions: { listener_arn: { references: ['aws_lb_listener.https.arn', 'aws_lb_listener.https'] }, certificate_arn: { references: ['aws_acm_certificate.api.arn', 'aws_acm_certificate.api'] } } },
          ],
        },
      },
    };
    const imported = fromCloudFormation(terraformToCloudFormation(plan, 'plan.json'), { map: {} }, 'plan.json');
    assert.deepEqual(imported.unsupported, []);
    const l = imported.config.listeners[0]!;
    assert.equal(l.sslPolicy, 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06');
    assert.deepEqual(l.certificates, [{ arn: ARN('shop') }, { arn: 'aws_acm_certificate.api' }]);
  });
});

describe('receipt gateway --cloudformation … --certificate ARN=cert.pem,key.pem (the command)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-tls-cmd-'));
  const files: Record<string, { cert: string; key: string }> = {};
  before(async () => {
    for (const name of ['shop.example.test', 'api.example.test']) {
      const pair = await certificateFor([name]);
      files[name] = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
      fs.writeFileSync(files[name]!.cert, pair.cert);
      fs.writeFileSync(files[name]!.key, pair.key);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[], until?: RegExp) => runGatewayCommand(['--cloudformation', path.join(FIX, 'tls.yaml'), '--map', 'Web=127.0.0.1:1', ...args], until);
  const flag = (arn: string, name: string) => `${arn}=${files[name]!.cert},${files[name]!.key}`;

  it('serves each ARN’s own certificate by SNI, enforces the policy and counts the refused handshakes', async () => {
    const data = path.join(dir, 'data');
    const r = await run(
      ['--listen', '443=0', '--listen', '8444=0', '--listen', '8445=0', '--certificate', flag(ARN('shop'), 'shop.example.test'), '--certificate', flag(ARN('api'), 'api.example.test'), '--control-port', '0', '--data-dir', data],
      /control +http/,
    );
    try {
      assert.match(r.err, /note: arn:aws:acm:eu-west-1:123456789012:certificate\/legacy: served by a self-signed certificate \(give yours with --certificate/);
      assert.doesNotMatch(r.err, /certificate\/shop: served by a self-signed/);
      assert.match(r.err, /not emulated: Custom\.SslPolicy = ELBSecurityPolicy-Made-Up-2030-01/);
      assert.match(r.err, /not emulated: PostQuantum\.SslPolicy = ELBSecurityPolicy-TLS13-1-3-PQ-2025-09: post-quantum/);
      const ports = [...(/listeners +(.+)/.exec(r.out)![1]!.matchAll(/https:\/\/127\.0\.0\.1:(\d+)/g))].map((m) => Number(m[1]));
      assert.equal(ports.length, 3);
      const [secure, pq, custom] = ports as [number, number, number];

      assert.deepEqual(await get(secure, { servername: 'shop.example.test' }), { subject: 'shop.example.test', protocol: 'TLSv1.3', body: 'secure' });
      assert.equal((await get(secure, { servername: 'api.example.test' })).subject, 'api.example.test');
      assert.equal((await get(secure)).subject, 'shop.example.test'); // no SNI: the default certificate
      // ELBSecurityPolicy-TLS13-1-2-2021-06: no TLS 1.1, no AES128-SHA.
      await assert.rejects(get(secure, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }));
      await assert.rejects(get(secure, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }));
      // The PQ policy is TLS 1.3 only (ML-KEM aside); the unknown one is Node's defaults, which take TLS 1.2.
      await assert.rejects(get(pq, { maxVersion: 'TLSv1.2' }));
      assert.equal((await get(pq)).protocol, 'TLSv1.3');
      assert.equal((await get(custom, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');

      const control = /control +(http:\/\/\S+) +token (\S+)/.exec(r.out)!;
      const metrics = await (await fetch(`${control[1]}/metrics`, { headers: { authorization: `Bearer ${control[2]}` } })).text();
      assert.match(metrics, /^receipt_alb_client_tls_negotiation_error_count_total 3$/m);
    } finally {
      r.kill();
    }
  });

  it('a certificate file that cannot be read, a key that is not the certificate’s, or an ARN no listener names: one line, exit 1', async () => {
    const missing = await run(['--certificate', `${ARN('shop')}=${path.join(dir, 'nope.crt')},${files['shop.example.test']!.key}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.err.trim(), /^receipt: --certificate arn:aws:acm:eu-west-1:123456789012:certificate\/shop: ENOENT: no such file or directory, open '.*nope\.crt'$/);
    const mismatched = await run(['--certificate', `${ARN('shop')}=${files['shop.example.test']!.cert},${files['api.example.test']!.key}`]);
    assert.equal(mismatched.code, 1);
    assert.match(mismatched.err.trim(), /^receipt: --certificate arn:aws:acm:eu-west-1:123456789012:certificate\/shop: .*shop\.example\.test\.crt, .*api\.example\.test\.key: .*key values mismatch$/);
    const unknown = await run(['--certificate', flag(ARN('other'), 'shop.example.test')]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err.trim(), /^receipt: --certificate arn:aws:acm:eu-west-1:123456789012:certificate\/other: no HTTPS listener names this certificate \(they name .*certificate\/shop/);
  });
});
