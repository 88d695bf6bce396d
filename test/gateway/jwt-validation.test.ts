/**
 * ALB's jwt-validation action (AWS, "Verify JWTs using an Application Load Balancer") over real sockets: a JWKS
 * server of the test's own (keys made with jose), a gateway in front of a target. A valid bearer token reaches the
 * target untouched; a missing, expired, not-yet-valid, wrongly issued, wrongly signed or under-claimed one is answered
 * 401 with RFC 6750 §3's Bearer challenge and the access log's error_reason; the listener's other rules are
 * unaffected; and a CloudFormation template and a Terraform plan of the same rule give the same answers.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { request } from 'undici';
import { fromCloudFormation, terraformToCloudFormation, toCloudFormation } from '../../src/gateway/aws/index.ts';
import { validateGatewayConfig, type GatewayConfig, type JwtValidationAction } from '../../src/gateway/config.ts';
import { parseBearerChallenge } from '../../src/http/www-authenticate.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

const ISSUER = 'https://issuer.test';
let target: HttpTarget;
let jwks: http.Server;
let jwksUrl: string;
let key: CryptoKey;
let stranger: CryptoKey;

before(async () => {
  target = await httpTarget('api');
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  stranger = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
});
after(async () => {
  await target.close();
  await new Promise((r) => jwks.close(r));
});

const now = () => Math.floor(Date.now() / 1000);
async function token(claims: JWTPayload = {}, o: { signer?: CryptoKey; kid?: string; iss?: string; exp?: number; iat?: number } = {}): Promise<string> {
  return new SignJWT({ scope: 'orders:read orders:write', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'k1' })
    .setIssuer(o.iss ?? ISSUER)
    .setIssuedAt(o.iat)
    .setExpirationTime(o.exp ?? now() + 300)
    .sign(o.signer ?? key);
}

const jwtAction = (): JwtValidationAction => ({
  type: 'jwt-validation',
  issuer: ISSUER,
  jwksEndpoint: jwksUrl,
  additionalClaims: [{ name: 'scope', format: 'space-separated-values', values: ['orders:read'] }],
});
const config = (): GatewayConfig => ({
  listeners: [
    {
      protocol: 'HTTP',
      port: 0,
      defaultActions: [{ type: 'fixed-response', statusCode: '404', messageBody: 'no rule' }],
      rules: [
        { priority: 1, conditions: [{ field: 'path-pattern', values: ['/api/*'] }], actions: [jwtAction(), { type: 'forward', targetGroups: [{ name: 'api' }] }] },
        { priority: 2, conditions: [{ field: 'path-pattern', values: ['/open'] }], actions: [{ type: 'forward', targetGroups: [{ name: 'api' }] }] },
      ],
    },
  ],
  targetGroups: [{ name: 'api', healthCheck: { enabled: false }, targets: [{ id: 'api', host: '127.0.0.1', port: 1 }] }],
});

/** The same answers from a gateway made of `cfg`: each case's status, challenge and log line. */
async function behaves(cfg: GatewayConfig): Promise<void> {
  cfg.targetGroups[0]!.targets = [{ id: 'api', host: '127.0.0.1', port: target.port }];
  const gw = await gatewayUnderTest(cfg);
  try {
    const get = async (path: string, authorization?: string) => {
      const r = await request(`${gw.url}${path}`, { headers: authorization ? { authorization } : {} });
      const body = await r.body.text();
      return { status: r.statusCode, challenge: r.headers['www-authenticate'] as string | undefined, body, log: await gw.logFor(path) };
    };

    const good = await token();
    const ok = await get('/api/ok', `Bearer ${good}`);
    assert.equal(ok.status, 200);
    assert.equal(target.lastHeaders?.authorization, `Bearer ${good}`, 'the token reaches the target as it was sent');
    assert.equal(ok.log.actionsExecuted, 'jwt-validation,forward');

    const missing = await get('/api/missing');
    assert.equal(missing.status, 401);
    // RFC 6750 §3.1: no credentials → a challenge without an error code.
    assert.equal(missing.challenge, 'Bearer');
    assert.equal(missing.log.errorReason, 'JwtMissing');
    assert.equal(missing.log.elbStatusCode, '401');

    const cases: Array<[string, Promise<string>]> = [
      ['expired', token({}, { exp: now() - 60 })],
      ['not-yet-valid', token({ nbf: now() + 600 })],
      ['issued-in-the-future', token({}, { iat: now() + 600 })],
      ['wrong-issuer', token({}, { iss: 'https://elsewhere.test' })],
      ['wrong-signature', token({}, { signer: stranger })],
      ['unknown-kid', token({}, { signer: stranger, kid: 'k2' })],
      ['missing-claim', token({ scope: 'orders:write' })],
    ];
    for (const [name, t] of cases) {
      const served = target.served;
      const r = await get(`/api/${name}`, `Bearer ${await t}`);
      assert.equal(r.status, 401, name);
      assert.equal(parseBearerChallenge(r.challenge)?.error, 'invalid_token', `${name}: ${r.challenge}`);
      assert.equal(r.log.errorReason, 'JwtInvalid', name);
      assert.equal(target.served, served, `${name}: the target never saw it`);
    }
    const basic = await get('/api/basic', 'Basic dXNlcjpwYXNz');
    assert.equal(basic.status, 401);
    assert.equal(basic.challenge, 'Bearer', 'another scheme is no bearer token at all');

    // The listener's other rules are unaffected: no token needed, none checked.
    const open = await get('/open');
    assert.equal(open.status, 200);
    assert.equal(open.log.actionsExecuted, 'forward');
    assert.equal((await get('/nowhere')).status, 404);
  } finally {
    await gw.close();
  }
}

describe('jwt-validation', () => {
  it('checks the bearer token against the issuer’s JWKS before the rule’s final action', async () => {
    await behaves(config());
  });

  it('with Receipt’s extras, the challenge says why', async () => {
    const cfg = config();
    cfg.targetGroups[0]!.targets = [{ id: 'api', host: '127.0.0.1', port: target.port }];
    const gw = await gatewayUnderTest(cfg, undefined, { receiptExtras: true });
    try {
      const r = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${await token({}, { exp: now() - 60 })}` } });
      await r.body.text();
      assert.match(parseBearerChallenge(r.headers['www-authenticate'] as string)?.error_description ?? '', /exp/);
    } finally {
      await gw.close();
    }
  });

  it('a JWKS endpoint that cannot be reached is the gateway’s failure (500), not the client’s', async () => {
    const cfg = config();
    cfg.listeners[0]!.rules![0]!.actions[0] = { ...jwtAction(), jwksEndpoint: 'http://127.0.0.1:1/jwks' };
    cfg.targetGroups[0]!.targets = [{ id: 'api', host: '127.0.0.1', port: target.port }];
    const gw = await gatewayUnderTest(cfg);
    try {
      const r = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${await token()}` } });
      await r.body.text();
      assert.equal(r.statusCode, 500);
      assert.equal((await gw.logFor('/api/x')).errorReason, 'JwksUnavailable');
    } finally {
      await gw.close();
    }
  });

  it('only ALB’s shape is accepted: one jwt-validation before one final action, claims as AWS allows', () => {
    const bad = (mutate: (c: GatewayConfig) => void, pattern: RegExp) => {
      const c = config();
      mutate(c);
      assert.throws(() => validateGatewayConfig(c), pattern);
    };
    const fwd = { type: 'forward' as const, targetGroups: [{ name: 'api' }] };
    bad((c) => (c.listeners[0]!.rules![0]!.actions = [fwd, jwtAction()]), /a jwt-validation, then one forward/);
    bad((c) => (c.listeners[0]!.rules![0]!.actions = [fwd, fwd]), /a jwt-validation, then one forward/);
    bad((c) => (c.listeners[0]!.rules![0]!.actions = [jwtAction()]), /a jwt-validation, then one forward/);
    bad((c) => (c.listeners[0]!.rules![0]!.actions = [jwtAction(), jwtAction(), fwd] as never), /actions/);
    bad((c) => (c.listeners[0]!.rules![0]!.actions = [{ ...jwtAction(), additionalClaims: [{ name: 'exp', format: 'single-string', values: ['1'] }] }, fwd]), /exp is validated by default/);
    bad((c) => (c.listeners[0]!.rules![0]!.actions = [{ ...jwtAction(), additionalClaims: [{ name: 'scope', format: 'space-separated-values', values: ['a b'] }] }, fwd]), /cannot contain spaces/);
    bad((c) => (c.listeners[0]!.rules![0]!.actions = [{ ...jwtAction(), jwksEndpoint: 'file:///etc/keys' }, fwd]), /jwksEndpoint/);
  });

  it('from a CloudFormation template and from a Terraform plan: the same rule, the same answers; export writes it back', async () => {
    const claims = [{ Name: 'scope', Format: 'space-separated-values', Values: ['orders:read'] }];
    const template = {
      Resources: {
        LB: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: {} },
        Api: { Type: 'AWS::ElasticLoadBalancingV2::TargetGroup', Properties: { Name: 'api', Protocol: 'HTTP', Port: 80, HealthCheckEnabled: false } },
        Listener: {
          Type: 'AWS::ElasticLoadBalancingV2::Listener',
          Properties: { LoadBalancerArn: { Ref: 'LB' }, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', MessageBody: 'no rule' } }] },
        },
        ApiRule: {
          Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
          Properties: {
            ListenerArn: { Ref: 'Listener' },
            Priority: 1,
            Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
            Actions: [
              { Type: 'forward', Order: 2, TargetGroupArn: { Ref: 'Api' } },
              { Type: 'jwt-validation', Order: 1, JwtValidationConfig: { Issuer: ISSUER, JwksEndpoint: jwksUrl, AdditionalClaims: claims } },
            ],
          },
        },
        OpenRule: {
          Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
          Properties: { ListenerArn: { Ref: 'Listener' }, Priority: 2, Conditions: [{ Field: 'path-pattern', Values: ['/open'] }], Actions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Api' } }] },
        },
      },
    };
    const map = (name: string) => ({ [name]: [`127.0.0.1:${target.port}`] });
    const fromCfn = fromCloudFormation(template as never, { map: map('Api'), listenPorts: { 80: 0 } });
    assert.deepEqual(fromCfn.unsupported, []);
    assert.deepEqual(fromCfn.config.listeners[0]!.rules![0]!.actions[0], jwtAction());
    await behaves(fromCfn.config);

    const ref = (address: string) => ({ references: [`${address}.arn`, address] });
    const plan = {
      format_version: '1.2',
      planned_values: {
        root_module: {
          resources: [
            { address: 'aws_lb.main', type: 'aws_lb', name: 'main', values: { name: 'main', load_balancer_type: 'application' } },
            { address: 'aws_lb_target_group.api', type: 'aws_lb_target_group', name: 'api', values: { name: 'api', port: 80, protocol: 'HTTP', health_check: [{ enabled: false }] } },
            {
              address: 'aws_lb_listener.http',
              type: 'aws_lb_listener',
              name: 'http',
              values: { port: 80, protocol: 'HTTP', default_action: [{ type: 'fixed-response', fixed_response: [{ status_code: '404', message_body: 'no rule', content_type: 'text/plain' }] }] },
            },
            {
              address: 'aws_lb_listener_rule.api',
              type: 'aws_lb_listener_rule',
              name: 'api',
              values: {
                priority: 1,
                condition: [{ path_pattern: [{ values: ['/api/*'] }] }],
                action: [
                  { type: 'jwt-validation', order: 1, jwt_validation: [{ issuer: ISSUER, jwks_endpoint: jwksUrl, additional_claim: [{ name: 'scope', format: 'space-separated-values', values: ['orders:read'] }] }] },
                  { type: 'forward', order: 2 },
                ],
              },
            },
            { address: 'aws_lb_listener_rule.open', type: 'aws_lb_listener_rule', name: 'open', values: { priority: 2, condition: [{ path_pattern: [{ values: ['/open'] }] }], action: [{ type: 'forward' }] } },
          ],
        },
      },
      configuration: {
        root_module: {
          resources: [
            { address: 'aws_lb_listener.http', expressions: { load_balancer_arn: ref('aws_lb.main') } },
            { address: 'aws_lb_listener_rule.api', expressions: { listener_arn: ref('aws_lb_listener.http'), action: [{}, { target_group_arn: ref('aws_lb_target_group.api') }] } },
            { address: 'aws_lb_listener_rule.open', expressions: { listener_arn: ref('aws_lb_listener.http'), action: [{ target_group_arn: ref('aws_lb_target_group.api') }] } },
          ],
        },
      },
    };
    const fromTf = fromCloudFormation(terraformToCloudFormation(plan), { map: map('aws_lb_target_group.api'), listenPorts: { 80: 0 } });
    assert.deepEqual(fromTf.unsupported, []);
    assert.deepEqual(fromTf.config.listeners[0]!.rules![0]!.actions, fromCfn.config.listeners[0]!.rules![0]!.actions);
    await behaves(fromTf.config);

    // Export writes the action back with its Order, and reading the export gives the same rule.
    const exported = toCloudFormation(fromCfn.config) as { Resources: Record<string, { Properties: { Actions?: unknown[] } }> };
    const actions = Object.values(exported.Resources).find((r) => JSON.stringify(r.Properties?.Actions ?? []).includes('jwt-validation'))!.Properties.Actions!;
    assert.deepEqual(actions[0], { Order: 1, Type: 'jwt-validation', JwtValidationConfig: { Issuer: ISSUER, JwksEndpoint: jwksUrl, AdditionalClaims: claims } });
  });
});
