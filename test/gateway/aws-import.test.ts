/**
 * The user's infrastructure as the gateway's configuration: a CloudFormation template (YAML with short tags, and
 * JSON) and a Terraform plan covering every condition and action the gateway emulates, each driven over real
 * sockets against two targets of the test's own; a template with parts the gateway cannot be gets its list; and the
 * export round-trips (export → import → the same configuration, the same answers). The CLI does the same in its own
 * process.
 */
import assert from 'node:assert/strict';
import { runGatewayCommand } from '../support/gateway-command.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { formatTemplate, fromCloudFormation, parseTemplate, terraformToCloudFormation, toCloudFormation, type Imported } from '../../src/gateway/aws/index.ts';
import type { GatewayConfig } from '../../src/gateway/config.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

const FIX = 'test/fixtures/aws';
const read = (f: string) => fs.readFileSync(path.join(FIX, f), 'utf8');
let api: HttpTarget;
let canary: HttpTarget;
before(async () => {
  api = await httpTarget('api');
  canary = await httpTarget('canary');
});
after(async () => {
  await api.close();
  await canary.close();
});

/** Every supported condition and action of the fixtures, asked of a running gateway. */
async function behavesLikeTheTemplate(config: GatewayConfig, canaryGroup: string): Promise<void> {
  const g = await gatewayUnderTest(config);
  try {
    const send = async (p: string, o: { method?: string; headers?: Record<string, string> } = {}) => {
      const res = await request(g.url + p, { method: (o.method ?? 'GET') as 'GET', headers: o.headers ?? {} });
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    };
    // Default action: forward to the api group.
    assert.match((await send('/orders')).body, /"target":"api"/);
    // host-header → redirect 301 to the canonical host, path and query kept (#{path}, #{query}).
    const moved = await send('/a/b?c=1', { headers: { host: 'old.api.example.com' } });
    assert.equal(moved.status, 301);
    assert.match(String(moved.headers.location), /^http:\/\/api\.example\.com(:\d+)?\/a\/b\?c=1$/);
    // path-pattern → fixed-response 503 with its content type and body.
    const down = await send('/maintenance/now');
    assert.equal(down.status, 503);
    assert.match(String(down.headers['content-type']), /application\/json/);
    assert.equal(down.body, '{"down":"for maintenance"}');
    // http-request-method → fixed-response 403.
    const del = await send('/orders/1', { method: 'DELETE' });
    assert.equal(del.status, 403);
    assert.equal(del.body, 'no deletes here');
    // http-header → forward to the canary group.
    assert.match((await send('/x', { headers: { 'x-canary': 'yes' } })).body, /"target":"canary"/);
    // query-string → weighted forward (0 / 100): always the canary.
    for (let i = 0; i < 5; i++) assert.match((await send('/x?version=beta')).body, /"target":"canary"/);
    // source-ip (and path): 127.0.0.1 is not in 192.0.2.0/24, so the default action answers.
    assert.match((await send('/admin')).body, /"target":"api"/);
    // The load balancer's and target groups' attributes.
    assert.equal(config.idleTimeoutMs, 5000);
    assert.equal(config.desyncMitigationMode, 'strictest');
    assert.equal(config.clientKeepAliveMs, 120_000);
    const apiGroup = config.targetGroups.find((t) => t.name === 'api')!;
    assert.deepEqual(apiGroup.healthCheck, { path: '/healthz', intervalMs: 5000, timeoutMs: 2000, healthyThreshold: 2, unhealthyThreshold: 3, matcher: '200-299' });
    assert.equal(apiGroup.deregistrationDelayMs, 10_000);
    assert.equal(apiGroup.algorithm, 'least_outstanding_requests');
    assert.ok(config.targetGroups.some((t) => t.name === canaryGroup));
  } finally {
    await g.close();
  }
}

const map = () => ({ ApiTargets: [`127.0.0.1:${api.port}`], CanaryTargets: [`127.0.0.1:${canary.port}`] });

describe('CloudFormation', () => {
  it('YAML with short tags (!Ref, !GetAtt, !Sub) reads as the same template as its JSON form', () => {
    assert.deepEqual(parseTemplate(read('alb.yaml'), 'alb.yaml'), parseTemplate(read('alb.json'), 'alb.json'));
  });

  it('the YAML template drives the gateway: every condition and action, over real sockets', async () => {
    const imported = fromCloudFormation(parseTemplate(read('alb.yaml'), 'alb.yaml'), { map: map(), listenPorts: { 80: 0 } });
    assert.deepEqual(imported.unsupported, []);
    await behavesLikeTheTemplate(imported.config, 'CanaryTargets');
  });

  it('the JSON template too; a privileged listener port is moved and said so', async () => {
    const imported = fromCloudFormation(parseTemplate(read('alb.json'), 'alb.json'), { map: map() });
    assert.equal(imported.config.listeners[0]!.port, 8080);
    assert.deepEqual(imported.notes, ['HttpListener: port 80 listens on 8080 locally']);
    imported.config.listeners[0]!.port = 0;
    await behavesLikeTheTemplate(imported.config, 'CanaryTargets');
  });

  it('what the gateway cannot emulate is listed, each with where it is; the rest still runs', () => {
    const imported = fromCloudFormation(parseTemplate(read('unsupported.yaml'), 'unsupported.yaml'), { map: { web: ['127.0.0.1:1'] } });
    const text = imported.unsupported.join('\n');
    for (const expected of [/AuthRule\.Actions: authenticate-oidc on an HTTP listener/, /AuthRule: rule skipped/, /lambda targets/, /WAF/, /ImportValue/, /LambdaRule: rule skipped/]) assert.match(text, expected);
    // The X-Forwarded-For mode is emulated now: read into the configuration, not listed.
    assert.doesNotMatch(text, /xff_header_processing/);
    assert.equal(imported.config.xffHeaderProcessingMode, 'remove');
    assert.deepEqual(imported.config.listeners[0]!.defaultActions, [{ type: 'forward', targetGroups: [{ name: 'web' }] }]);
  });

  it('a --map naming no target group, or a bad address, is refused naming it', () => {
    const t = parseTemplate(read('alb.yaml'), 'alb.yaml');
    assert.throws(() => fromCloudFormation(t, { map: { Nope: ['127.0.0.1:1'] } }), /--map Nope: no target group Nope/);
    assert.throws(() => fromCloudFormation(t, { map: { ApiTargets: ['nohost'] } }), /--map ApiTargets=nohost: expected host:port/);
    assert.throws(() => parseTemplate('Resources: [unclosed', 'bad.yaml'), /bad\.yaml/);
  });
});

describe('Terraform plan (terraform show -json)', () => {
  it('aws_lb* resources, with references read from the configuration, drive the gateway the same way', async () => {
    const imported = fromCloudFormation(terraformToCloudFormation(JSON.parse(read('terraform-plan.json'))), {
      map: { 'aws_lb_target_group.api': [`127.0.0.1:${api.port}`], canary: [`127.0.0.1:${canary.port}`] },
      listenPorts: { 80: 0 },
    });
    assert.deepEqual(imported.unsupported, []);
    await behavesLikeTheTemplate(imported.config, 'canary');
  });
});

describe('export', () => {
  it('round-trips: export → import gives the same configuration and the same answers', async () => {
    const first: Imported = fromCloudFormation(parseTemplate(read('alb.yaml'), 'alb.yaml'), { map: map(), listenPorts: { 80: 18080 } });
    const yaml = formatTemplate(toCloudFormation(first.config));
    assert.match(yaml, /AWS::ElasticLoadBalancingV2::ListenerRule/);
    const again = fromCloudFormation(parseTemplate(yaml, 'exported.yaml'), {
      map: { api: [`127.0.0.1:${api.port}`], CanaryTargets: [`127.0.0.1:${canary.port}`] },
      listenPorts: { 18080: 18080 },
    });
    assert.deepEqual(again.unsupported, []);
    assert.deepEqual(again.config, first.config);
    again.config.listeners[0]!.port = 0;
    await behavesLikeTheTemplate(again.config, 'CanaryTargets');
  });
});

describe('receipt gateway --cloudformation (the command)', () => {
  const run = runGatewayCommand;

  it('runs the template in front of the test’s servers, listing what it cannot emulate at start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-cfn-'));
    const r = await run(
      ['--cloudformation', path.join(FIX, 'unsupported.yaml'), '--map', `web=127.0.0.1:${api.port}`, '--listen', '80=0', '--control-port', '0', '--data-dir', dir],
      /control +http/,
    );
    try {
      assert.match(r.err, /not emulated: AuthRule\.Actions: authenticate-oidc on an HTTP listener/);
      const url = /listeners +(http:\/\/\S+)/.exec(r.out)![1]!;
      assert.match(await (await request(url + '/hello')).body.text(), /"target":"api"/);
    } finally {
      r.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--export cloudformation prints a template that imports back; a bad --map exits 1 with one line', async () => {
    const r = await run(['--terraform-plan', path.join(FIX, 'terraform-plan.json'), '--map', 'canary=127.0.0.1:1', '--export', 'cloudformation']);
    assert.equal(r.code, 0, r.err);
    const t = parseTemplate(r.out, 'stdout');
    assert.equal(Object.values(t.Resources as Record<string, { Type: string }>).filter((x) => x.Type === 'AWS::ElasticLoadBalancingV2::ListenerRule').length, 6);
    const bad = await run(['--cloudformation', path.join(FIX, 'alb.yaml'), '--map', 'Nope=127.0.0.1:1']);
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim(), 'receipt: --map Nope: no target group Nope in test/fixtures/aws/alb.yaml');
  });
});
