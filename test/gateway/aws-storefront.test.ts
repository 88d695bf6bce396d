/**
 * A storefront's template as a new user brings it — CloudFormation YAML, the same as JSON, and the Terraform plan of
 * the same stack — read the way `receipt gateway` reads it: nothing the gateway cannot be is dropped without a line,
 * a parameter with no value names itself and what to pass instead of stopping the gateway, and the three sources
 * answer the same requests the same way over real sockets. Then the catalogue itself: every setting it knows is
 * either emulated or named at a non-default value, and a setting nobody has seen before is named too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { formatTemplate, fromCloudFormation, parseTemplate, terraformToCloudFormation, toCloudFormation, type Imported } from '../../src/gateway/aws/index.ts';
import { LB, LB_ATTRIBUTES, LISTENER, LISTENER_ATTRIBUTES, LISTENER_CERTIFICATE, PROPERTIES, RULE, TG, TG_ATTRIBUTES, TRUST_STORE, TRUST_STORE_REVOCATION, type Handling } from '../../src/gateway/aws/catalogue.ts';
import { catalogueTable, TABLE_END, TABLE_START } from '../../src/gateway/aws/table.ts';
import { GatewayConfigError } from '../../src/gateway/config.ts';
import { normalizeGatewayConfig } from '../../src/gateway/limits.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

const FIX = 'test/fixtures/aws';
const read = (f: string) => fs.readFileSync(path.join(FIX, f), 'utf8');
let web: HttpTarget;
before(async () => {
  web = await httpTarget('web');
});
after(() => web.close());

const yaml = () => parseTemplate(read('storefront.yaml'), 'storefront.yaml');
/** The same template in CloudFormation's JSON form (long-form intrinsics, as `aws cloudformation` accepts). */
const json = () => parseTemplate(JSON.stringify(yaml(), null, 2), 'storefront.json');
const plan = () => terraformToCloudFormation(JSON.parse(read('storefront-plan.json')), 'storefront-plan.json');

const SOURCES: Array<[string, () => Imported]> = [
  ['CloudFormation YAML', () => fromCloudFormation(yaml(), { map: { web: [`127.0.0.1:${web.port}`] }, listenPorts: { 80: 0 }, parameters: { OriginVerifySecret: 'cdn-secret' } })],
  ['CloudFormation JSON', () => fromCloudFormation(json(), { map: { web: [`127.0.0.1:${web.port}`] }, listenPorts: { 80: 0 }, parameters: { OriginVerifySecret: 'cdn-secret' } })],
  ['Terraform plan', () => fromCloudFormation(plan(), { map: { web: [`127.0.0.1:${web.port}`] }, listenPorts: { 80: 0 } })],
];

/** Settings of the storefront the gateway cannot be: each source must name every one. */
const NAMED = [
  /WAF \(requests are not filtered locally\)/,
];

describe('a storefront template nobody here wrote', () => {
  for (const [name, load] of SOURCES) {
    it(`${name}: every setting the gateway cannot be is named; the rest answers over real sockets`, async () => {
      const imported = load();
      const text = imported.unsupported.join('\n');
      for (const re of NAMED) assert.match(text, re, `${name} does not name ${re}`);
      // AWS-side settings are named as such, and an unresolvable one of them is no complaint.
      assert.ok(imported.awsOnly.some((a) => /Subnets/.test(a)), imported.awsOnly.join(', '));
      assert.doesNotMatch(text, /\bName\b.*cannot be resolved/);
      assert.equal(imported.config.idleTimeoutMs, 5000); // !FindInMap [Sizing, staging, Idle]
      assert.equal(imported.config.clientKeepAliveMs, 600_000); // client_keep_alive.seconds: emulated
      // The target groups' settings the gateway now is: slow start, weighted random, a health-check port, HTTPS.
      const webGroup = imported.config.targetGroups.find((g) => g.name === 'web')!;
      assert.equal(webGroup.slowStartMs, 30_000);
      assert.deepEqual(webGroup.stickiness, { type: 'lb_cookie', durationMs: 86_400_000 });
      assert.equal(imported.config.dropInvalidHeaderFields, true);
      assert.equal(imported.config.preserveHostHeader, true);
      assert.equal(imported.config.http2Enabled, false);
      assert.equal(webGroup.algorithm, 'weighted_random');
      assert.equal(webGroup.healthCheck?.port, 3001);
      assert.equal(imported.config.targetGroups.find((g) => g.name === 'secure')!.protocol, 'HTTPS');
      const g = await gatewayUnderTest(imported.config);
      try {
        const send = async (p: string, headers: Record<string, string> = {}) => {
          const res = await request(g.url + p, { headers });
          return { status: res.statusCode, location: res.headers.location, hsts: res.headers['strict-transport-security'], body: await res.body.text() };
        };
        // The listener's added response header, on a target's answer and on the gateway's own.
        assert.equal((await send('/anything')).hsts, 'max-age=31536000');
        assert.equal((await send('/items/42')).hsts, 'max-age=31536000');
        // A redirect to another host keeps that host's port: 443 is https's own, so none is written.
        const docs = await send('/docs/intro');
        assert.equal(docs.status, 301);
        assert.equal(docs.location, 'https://docs.example.test/docs/intro');
        // The CDN's shared secret routes /checkout to the fixed response; without it, the default forward.
        assert.equal((await send('/checkout', { 'x-origin-verify': 'cdn-secret' })).body, 'from the CDN');
        assert.match((await send('/checkout')).body, /"target":"web"/);
        // RegexValues: /items/ and digits only is the rule's fixed 404; anything else is not.
        assert.equal((await send('/items/42')).status, 404);
        assert.match((await send('/items/abc')).body, /"target":"web"/);
        // url-rewrite: /v1/… reaches the target without its /v1.
        assert.match((await send('/v1/hello?x=1')).body, /"path":"\/hello\?x=1"/);
        // The production-only rule does not exist in staging (its Condition is false).
        assert.match((await send('/beta')).body, /"target":"web"/);
      } finally {
        await g.close();
      }
    });
  }

  it('export → import keeps every setting the gateway emulates (slow start, algorithm, health-check port, HTTPS targets)', () => {
    const first = SOURCES[0]![1]();
    const again = fromCloudFormation(parseTemplate(formatTemplate(toCloudFormation(first.config)), 'exported.yaml'), { map: { web: [`127.0.0.1:${web.port}`] }, listenPorts: { 0: 0 } });
    // The same gateway: every setting, ALB's defaults filled in (the export writes them out explicitly).
    assert.deepEqual(normalizeGatewayConfig(again.config), normalizeGatewayConfig(first.config));
  });

  it('a NoEcho parameter without a default names itself and --parameter; its rule is skipped, the gateway runs', async () => {
    const imported = fromCloudFormation(yaml(), { map: { web: [`127.0.0.1:${web.port}`] }, listenPorts: { 80: 0 } });
    const text = imported.unsupported.join('\n');
    assert.match(text, /FromCdnOnly\.Properties\.Conditions\[1\]\.HttpHeaderConfig\.Values\[0\]: parameter OriginVerifySecret has no value \(NoEcho, no Default\) cannot be resolved locally — pass --parameter OriginVerifySecret=…/);
    assert.match(text, /FromCdnOnly: rule skipped/);
    assert.equal(imported.config.listeners[0]!.rules!.some((r) => r.priority === 20), false);
    const g = await gatewayUnderTest(imported.config);
    try {
      const res = await request(g.url + '/checkout', { headers: { 'x-origin-verify': 'anything' } });
      assert.match(await res.body.text(), /"target":"web"/);
    } finally {
      await g.close();
    }
  });

  it('the command starts on it and says what to pass', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-store-'));
    const child = spawn(process.execPath, [path.resolve('bin/receipt.js'), 'gateway', '--cloudformation', path.join(FIX, 'storefront.yaml'), '--map', `web=127.0.0.1:${web.port}`, '--listen', '80=0', '--control-port', '0', '--data-dir', dir], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (/control +http/.test(out)) resolve();
        });
        child.on('close', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      assert.match(err, /not emulated: .*pass --parameter OriginVerifySecret=…/);
      assert.match(err, /not emulated: Firewall: WAF/);
      assert.match(err, /AWS-side only.*LoadBalancer\.Subnets/);
    } finally {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the catalogue: every setting emulated or named', () => {
  /** The smallest template the gateway runs, with one setting added where `place` says. */
  const base = () => ({
    Resources: {
      LoadBalancer: { Type: LB, Properties: {} as Record<string, unknown> },
      Group: { Type: TG, Properties: { Name: 'group' } as Record<string, unknown> },
      Listener: { Type: LISTENER, Properties: { LoadBalancerArn: { Ref: 'LoadBalancer' }, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Group' } }] } as Record<string, unknown> },
      Rule: { Type: RULE, Properties: { ListenerArn: { Ref: 'Listener' }, Priority: 1, Conditions: [{ Field: 'path-pattern', Values: ['/x'] }], Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }] } as Record<string, unknown> },
      // An HTTPS listener with a certificate list: ALB's default policy and the self-signed stand-in say nothing.
      Secure: { Type: LISTENER, Properties: { LoadBalancerArn: { Ref: 'LoadBalancer' }, Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: 'arn:aws:acm:eu-west-1:1:certificate/a' }], DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Group' } }] } as Record<string, unknown> },
      Certs: { Type: LISTENER_CERTIFICATE, Properties: { ListenerArn: { Ref: 'Secure' }, Certificates: [{ CertificateArn: 'arn:aws:acm:eu-west-1:1:certificate/b' }] } as Record<string, unknown> },
      Store: { Type: TRUST_STORE, Properties: {} as Record<string, unknown> },
      Revocations: { Type: TRUST_STORE_REVOCATION, Properties: {} as Record<string, unknown> },
    },
  });
  const ids: Record<string, 'LoadBalancer' | 'Group' | 'Listener' | 'Rule' | 'Certs' | 'Store' | 'Revocations'> = {
    [LB]: 'LoadBalancer',
    [TG]: 'Group',
    [LISTENER]: 'Listener',
    [RULE]: 'Rule',
    [LISTENER_CERTIFICATE]: 'Certs',
    [TRUST_STORE]: 'Store',
    [TRUST_STORE_REVOCATION]: 'Revocations',
  };
  /** Everything a user is told about a template: the lines, or the refusal's message when nothing can run. */
  const told = (t: ReturnType<typeof base>): { lines: string; awsOnly: string[] } => {
    try {
      const i = fromCloudFormation(t, { map: {} });
      return { lines: i.unsupported.join('\n'), awsOnly: i.awsOnly };
    } catch (e) {
      if (e instanceof GatewayConfigError) return { lines: e.message, awsOnly: [] };
      throw e;
    }
  };
  const offDefault = (h: Handling) => (h.kind === 'at' ? 'a-value-no-one-uses' : 'x');

  it('each property that is not emulated (or not at this value) is named with its place; AWS-only ones are listed as such', () => {
    let checked = 0;
    for (const [type, props] of Object.entries(PROPERTIES)) {
      const id = ids[type]!;
      for (const [prop, h] of Object.entries(props)) {
        if (h.kind === 'emulated') continue;
        const t = base();
        t.Resources[id].Properties[prop] = offDefault(h);
        const { lines, awsOnly } = told(t);
        if (h.kind === 'aws') assert.ok(awsOnly.includes(`${id}.${prop}`), `${type} ${prop} is not listed as AWS-only`);
        else assert.match(lines, new RegExp(`${id}\\.${prop}\\b`), `${type} ${prop} is neither emulated nor named`);
        checked++;
      }
      // A property nobody has seen before.
      const t = base();
      t.Resources[id].Properties.SomethingAwsAddsNextYear = 'on';
      assert.match(told(t).lines, new RegExp(`${id}\\.SomethingAwsAddsNextYear = on: a setting this gateway does not know`));
    }
    assert.ok(checked >= 20, `only ${checked} properties checked`);
  });

  it('each attribute likewise, on the load balancer, the target group and the listener', () => {
    const tables: Array<[Record<string, Handling>, 'LoadBalancer' | 'Group' | 'Listener', string]> = [
      [LB_ATTRIBUTES, 'LoadBalancer', 'LoadBalancerAttributes'],
      [TG_ATTRIBUTES, 'Group', 'TargetGroupAttributes'],
      [LISTENER_ATTRIBUTES, 'Listener', 'ListenerAttributes'],
    ];
    for (const [table, id, prop] of tables) {
      for (const [key, h] of [...Object.entries(table), ['an.attribute.from.the.future', undefined] as const]) {
        if (h?.kind === 'emulated') continue;
        const t = base();
        t.Resources[id].Properties[prop] = [{ Key: key, Value: h ? offDefault(h) : 'x' }];
        const { lines, awsOnly } = told(t);
        if (h?.kind === 'aws') assert.ok(awsOnly.includes(`${id}.${prop} ${key}`), `${prop} ${key} is not listed as AWS-only`);
        else assert.ok(lines.includes(`${id}.${prop} ${key}`), `${prop} ${key} is neither emulated nor named:\n${lines}`);
      }
    }
  });

  it('attributes at ALB’s defaults are emulated: no line', () => {
    const t = base();
    t.Resources.LoadBalancer.Properties.LoadBalancerAttributes = Object.entries(LB_ATTRIBUTES)
      .filter(([, h]) => h.kind === 'at')
      .map(([Key, h]) => ({ Key, Value: h.kind === 'at' ? h.values[0] : '' }));
    assert.equal(told(t).lines, '');
  });

  it('docs/own-app.md shows the catalogue as it is', () => {
    const page = fs.readFileSync('docs/own-app.md', 'utf8');
    const shown = page.slice(page.indexOf(TABLE_START), page.indexOf(TABLE_END) + TABLE_END.length);
    assert.equal(shown, catalogueTable(), 'docs/own-app.md is behind src/gateway/aws/catalogue.ts: node --import tsx scripts/catalogue-table.ts --write');
  });
});
