/**
 * Sign-in actions from the user's infrastructure: a CloudFormation template's AuthenticateOidcConfig and
 * AuthenticateCognitoConfig, and a Terraform plan's `authenticate_oidc` / `authenticate_cognito` blocks, become the
 * gateway's authenticate actions (no longer "requests pass unauthenticated"); the client secret of a NoEcho parameter
 * without a value is left for `--oidc-client-secret` rather than skipping the rule, and `--parameter` gives it; the
 * imported gateway redirects to the provider over its HTTPS listener; export writes the actions back, the secret as
 * a NoEcho parameter; and an authenticate action on an HTTP listener is refused at load, as ALB refuses it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { fromCloudFormation, terraformToCloudFormation, toCloudFormation } from '../../src/gateway/aws/index.ts';
import { validateGatewayConfig, type GatewayConfig } from '../../src/gateway/config.ts';
import { certificateFor } from '../support/certificates.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { runGatewayCommand } from '../support/gateway-command.ts';

const ISSUER = 'https://idp.example';
const POOL = 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Example';
const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/abc';

const oidcConfig = {
  Issuer: ISSUER,
  AuthorizationEndpoint: `${ISSUER}/authorize`,
  TokenEndpoint: `${ISSUER}/token`,
  UserInfoEndpoint: `${ISSUER}/userinfo`,
  ClientId: 'shop-admin',
  ClientSecret: { Ref: 'AdminSecret' },
  Scope: 'openid email',
  OnUnauthenticatedRequest: 'deny',
  SessionTimeout: 3600,
  AuthenticationRequestExtraParams: { prompt: 'login' },
};

const template = () => ({
  Parameters: { AdminSecret: { Type: 'String', NoEcho: true } },
  Resources: {
    LB: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: {} },
    App: { Type: 'AWS::ElasticLoadBalancingV2::TargetGroup', Properties: { Name: 'app', Protocol: 'HTTP', Port: 80, HealthCheckEnabled: false } },
    Https: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Properties: {
        LoadBalancerArn: { Ref: 'LB' },
        Protocol: 'HTTPS',
        Port: 443,
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        Certificates: [{ CertificateArn: CERT }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'App' } }],
      },
    },
    Admin: {
      Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
      Properties: {
        ListenerArn: { Ref: 'Https' },
        Priority: 1,
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/admin/*'] } }],
        Actions: [
          { Type: 'forward', Order: 2, TargetGroupArn: { Ref: 'App' } },
          { Type: 'authenticate-oidc', Order: 1, AuthenticateOidcConfig: { ...oidcConfig } },
        ],
      },
    },
    Reports: {
      Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
      Properties: {
        ListenerArn: { Ref: 'Https' },
        Priority: 2,
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/reports/*'] } }],
        Actions: [
          { Type: 'authenticate-cognito', Order: 1, AuthenticateCognitoConfig: { UserPoolArn: POOL, UserPoolClientId: 'reports-client', UserPoolDomain: 'shop-auth' } },
          { Type: 'forward', Order: 2, TargetGroupArn: { Ref: 'App' } },
        ],
      },
    },
  },
});

const expectedOidc = {
  type: 'authenticate-oidc',
  issuer: ISSUER,
  authorizationEndpoint: `${ISSUER}/authorize`,
  tokenEndpoint: `${ISSUER}/token`,
  userInfoEndpoint: `${ISSUER}/userinfo`,
  clientId: 'shop-admin',
  sessionTimeout: 3600,
  scope: 'openid email',
  onUnauthenticatedRequest: 'deny',
  authenticationRequestExtraParams: { prompt: 'login' },
};
const expectedCognito = { type: 'authenticate-cognito', userPoolArn: POOL, userPoolClientId: 'reports-client', userPoolDomain: 'shop-auth' };
const rulesOf = (c: GatewayConfig) => c.listeners[0]!.rules!;

describe('sign-in actions from CloudFormation and Terraform', () => {
  it('CloudFormation: both actions imported in ALB’s order; a secret without a value is left for --oidc-client-secret', () => {
    const { config, unsupported } = fromCloudFormation(template() as never, { map: { App: ['127.0.0.1:1'] } });
    assert.deepEqual(unsupported, [], 'nothing about sign-in is named as not emulated');
    assert.deepEqual(rulesOf(config)[0]!.actions[0], expectedOidc);
    assert.deepEqual(rulesOf(config)[1]!.actions[0], expectedCognito);
    assert.equal(rulesOf(config)[0]!.actions[1]!.type, 'forward');

    const given = fromCloudFormation(template() as never, { map: { App: ['127.0.0.1:1'] }, parameters: { AdminSecret: 's3cret' } });
    assert.deepEqual(rulesOf(given.config)[0]!.actions[0], { ...expectedOidc, clientSecret: 's3cret' });

    // A Secrets Manager dynamic reference is resolved by CloudFormation in the account: locally, no secret.
    const dynamic = template();
    Object.assign(dynamic.Resources.Admin.Properties.Actions[1]!.AuthenticateOidcConfig!, { ClientSecret: '{{resolve:secretsmanager:shop-admin:SecretString:secret}}' });
    assert.deepEqual(rulesOf(fromCloudFormation(dynamic as never, { map: { App: ['127.0.0.1:1'] } }).config)[0]!.actions[0], expectedOidc);
  });

  it('Terraform: the authenticate_oidc and authenticate_cognito blocks give the same actions', () => {
    const ref = (address: string) => ({ references: [`${address}.arn`, address] });
    const plan = {
      format_version: '1.2',
      planned_values: {
        root_module: {
          resources: [
            { address: 'aws_lb.main', type: 'aws_lb', name: 'main', values: { name: 'main', load_balancer_type: 'application' } },
            { address: 'aws_lb_target_group.app', type: 'aws_lb_target_group', name: 'app', values: { name: 'app', port: 80, protocol: 'HTTP', health_check: [{ enabled: false }] } },
            {
              address: 'aws_lb_listener.https',
              type: 'aws_lb_listener',
              name: 'https',
              values: { port: 443, protocol: 'HTTPS', ssl_policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', certificate_arn: CERT, default_action: [{ type: 'forward' }] },
            },
            {
              address: 'aws_lb_listener_rule.admin',
              type: 'aws_lb_listener_rule',
              name: 'admin',
              values: {
                priority: 1,
                condition: [{ path_pattern: [{ values: ['/admin/*'] }] }],
                action: [
                  {
                    type: 'authenticate-oidc',
                    order: 1,
                    authenticate_oidc: [
                      {
                        issuer: ISSUER,
                        authorization_endpoint: `${ISSUER}/authorize`,
                        token_endpoint: `${ISSUER}/token`,
                        user_info_endpoint: `${ISSUER}/userinfo`,
                        client_id: 'shop-admin',
                        client_secret: 'from-the-plan',
                        scope: 'openid email',
                        on_unauthenticated_request: 'deny',
                        session_timeout: 3600,
                        authentication_request_extra_params: { prompt: 'login' },
                      },
                    ],
                  },
                  { type: 'forward', order: 2 },
                ],
              },
            },
            {
              address: 'aws_lb_listener_rule.reports',
              type: 'aws_lb_listener_rule',
              name: 'reports',
              values: {
                priority: 2,
                condition: [{ path_pattern: [{ values: ['/reports/*'] }] }],
                action: [
                  { type: 'authenticate-cognito', order: 1, authenticate_cognito: [{ user_pool_arn: POOL, user_pool_client_id: 'reports-client', user_pool_domain: 'shop-auth' }] },
                  { type: 'forward', order: 2 },
                ],
              },
            },
          ],
        },
      },
      configuration: {
        root_module: {
          resources: [
            { address: 'aws_lb_listener.https', expressions: { load_balancer_arn: ref('aws_lb.main'), default_action: [{ target_group_arn: ref('aws_lb_target_group.app') }] } },
            { address: 'aws_lb_listener_rule.admin', expressions: { listener_arn: ref('aws_lb_listener.https'), action: [{}, { target_group_arn: ref('aws_lb_target_group.app') }] } },
            { address: 'aws_lb_listener_rule.reports', expressions: { listener_arn: ref('aws_lb_listener.https'), action: [{}, { target_group_arn: ref('aws_lb_target_group.app') }] } },
          ],
        },
      },
    };
    const { config, unsupported } = fromCloudFormation(terraformToCloudFormation(plan), { map: { 'aws_lb_target_group.app': ['127.0.0.1:1'] } });
    assert.deepEqual(unsupported, []);
    assert.deepEqual(rulesOf(config)[0]!.actions[0], { ...expectedOidc, clientSecret: 'from-the-plan' });
    assert.deepEqual(rulesOf(config)[1]!.actions[0], expectedCognito);
  });

  it('the imported gateway sends an unauthenticated request to sign in (Cognito: at the local issuer’s /oauth2/authorize)', async () => {
    const { config } = fromCloudFormation(template() as never, { map: { App: ['127.0.0.1:1'] }, parameters: { AdminSecret: 's3cret' }, listenPorts: { 443: 0 } });
    const pool = rulesOf(config)[1]!.actions[0]!;
    if (pool.type !== 'authenticate-cognito') throw new Error('expected the cognito action');
    Object.assign(pool, { issuer: 'http://127.0.0.1:9/pool', clientSecret: 'reports-secret' });
    // gatewayUnderTest reads the HTTP listener's port: one beside the template's HTTPS listener.
    config.listeners.push({ protocol: 'HTTP', port: 0, defaultActions: [{ type: 'fixed-response', statusCode: '404' }] });
    const gw = await gatewayUnderTest(config, await certificateFor(['app.test']));
    try {
      const agent = new Agent({ connect: { rejectUnauthorized: false } });
      const base = `https://127.0.0.1:${gw.gateway.listener('https')!.port}`;
      const reports = await request(`${base}/reports/x`, { dispatcher: agent, headers: { host: 'app.test' } });
      await reports.body.text();
      assert.equal(reports.statusCode, 302);
      const to = new URL(reports.headers.location as string);
      assert.equal(to.origin + to.pathname, 'http://127.0.0.1:9/pool/oauth2/authorize');
      assert.equal(to.searchParams.get('client_id'), 'reports-client');
      // OnUnauthenticatedRequest deny, from the template.
      const admin = await request(`${base}/admin/x`, { dispatcher: agent, headers: { host: 'app.test' } });
      await admin.body.text();
      assert.equal(admin.statusCode, 401);
    } finally {
      await gw.close();
    }
  });

  it('export writes the actions back, the client secret as a NoEcho parameter, and reading it gives the same rules', () => {
    const { config } = fromCloudFormation(template() as never, { map: { App: ['127.0.0.1:1'] }, parameters: { AdminSecret: 's3cret' } });
    const exported = toCloudFormation(config) as { Parameters: Record<string, { NoEcho?: boolean }>; Resources: Record<string, { Properties: { Actions?: Array<Record<string, unknown>> } }> };
    const admin = Object.values(exported.Resources).find((r) => JSON.stringify(r.Properties?.Actions ?? []).includes('authenticate-oidc'))!.Properties.Actions!;
    assert.deepEqual((admin[0]!.AuthenticateOidcConfig as { ClientSecret: unknown }).ClientSecret, { Ref: 'shopadminClientSecret' });
    assert.equal(exported.Parameters.shopadminClientSecret!.NoEcho, true);
    assert.ok(!JSON.stringify(exported).includes('s3cret'), 'no secret in the template');
    const back = fromCloudFormation(exported as never, { map: { appTargetGroup: ['127.0.0.1:1'] }, parameters: { shopadminClientSecret: 's3cret', VpcId: 'v', Subnets: 's', SecurityGroups: 'g' } });
    assert.deepEqual(
      rulesOf(back.config).map((r) => r.actions[0]),
      rulesOf(config).map((r) => r.actions[0]),
    );
  });

  it('an authenticate action on an HTTP listener is refused, as ALB refuses it: a template’s rule skipped and named, a configuration file not loaded', () => {
    const t = template();
    Object.assign(t.Resources.Https.Properties, { Protocol: 'HTTP', Port: 80 });
    delete (t.Resources.Https.Properties as Record<string, unknown>).SslPolicy;
    delete (t.Resources.Https.Properties as Record<string, unknown>).Certificates;
    const imported = fromCloudFormation(t as never, { map: { App: ['127.0.0.1:1'] } });
    assert.ok(imported.unsupported.includes('Admin.Actions: authenticate-oidc on an HTTP listener (ALB accepts authenticate actions only on HTTPS listeners)'));
    assert.ok(imported.unsupported.includes('Admin: rule skipped'), 'skipped, never run unauthenticated');
    assert.throws(
      () =>
        validateGatewayConfig({
          listeners: [{ protocol: 'HTTP', port: 0, defaultActions: [{ ...expectedOidc, clientSecret: 's' }, { type: 'fixed-response', statusCode: '200' }] }],
          targetGroups: [{ name: 'app' }],
        }),
      /needs an HTTPS listener/,
    );
  });

  it('receipt gateway: --oidc-client-secret and --cognito-issuer fill in what the template cannot give; the public key’s URL is printed; a missing one is a one-line error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-auth-'));
    const file = path.join(dir, 'template.json');
    fs.writeFileSync(file, JSON.stringify(template()));
    const common = ['--cloudformation', file, '--map', 'App=127.0.0.1:1', '--listen', '443=0', '--control-port', '0', '--data-dir', dir];
    try {
      const missing = await runGatewayCommand(common);
      assert.equal(missing.code, 1);
      // The error is one line of its own (a line before it may say that src/ was compiled first).
      assert.match(missing.err.trim(), /^receipt: .*client shop-admin has no secret \(give it with --oidc-client-secret shop-admin=SECRET\)$/m);
      const noPool = await runGatewayCommand([...common, '--oidc-client-secret', 'shop-admin=s3cret', '--oidc-client-secret', 'reports-client=r']);
      assert.equal(noPool.code, 1);
      assert.match(noPool.err, /--cognito-issuer arn:aws:cognito-idp:eu-west-1:123456789012:userpool\/eu-west-1_Example=URL/);
      const stranger = await runGatewayCommand([...common, '--oidc-client-secret', 'nobody=x']);
      assert.match(stranger.err, /--oidc-client-secret nobody: no authenticate action names this client id/);

      const r = await runGatewayCommand(
        [...common, '--oidc-client-secret', 'shop-admin=s3cret=with=equals', '--oidc-client-secret', 'reports-client=r', '--cognito-issuer', `${POOL}=http://127.0.0.1:9/pool`],
        // The banner's sign-in line, which comes after the control plane's (stdout may arrive in pieces).
        /public key: \S+<kid>/,
      );
      try {
        const keys = /x-amzn-oidc-data's public key: (http:\/\/\S+\/)<kid>/.exec(r.out)?.[1];
        assert.ok(keys, r.out + r.err);
        assert.equal((await request(`${keys}not-a-kid`)).statusCode, 404);
        assert.doesNotMatch(r.err, /authenticate/, 'sign-in is no longer listed as not emulated');
      } finally {
        r.kill();
      }
      const help = await runGatewayCommand(['--help']);
      for (const flag of ['--oidc-client-secret <client_id=secret>', '--cognito-issuer <user_pool_arn=url>', '--public-key-port <port>']) assert.ok(help.out.includes(flag), flag);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
