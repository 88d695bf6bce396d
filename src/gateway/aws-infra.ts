/**
 * The user's own infrastructure as the gateway's configuration, and back:
 *
 *  - a CloudFormation template (JSON, or YAML with the short intrinsic tags `!Ref`, `!GetAtt`, `!Sub`, …) —
 *    `AWS::ElasticLoadBalancingV2::LoadBalancer`, `::Listener`, `::ListenerRule` and `::TargetGroup`;
 *  - a Terraform plan in JSON (`terraform show -json plan.out`) — `aws_lb`, `aws_lb_listener`,
 *    `aws_lb_listener_rule`, `aws_lb_target_group` (also `aws_alb*`), read into the same CloudFormation shape first, so
 *    there is one mapping to the gateway, not two;
 *  - and the reverse: the gateway's configuration written as a CloudFormation template a user can deploy.
 *
 * What the gateway cannot emulate (authenticate actions, Lambda targets, network load balancers, mutual TLS, …) is
 * listed in `unsupported`, never silently dropped. Property names and defaults follow AWS's CloudFormation reference
 * (AWS::ElasticLoadBalancingV2::* pages) and the Terraform AWS provider's `aws_lb_*` resources.
 */
import { parseDocument, stringify, type ScalarTag, type CollectionTag } from 'yaml';
import { GatewayConfigError, validateGatewayConfig, type Action, type Condition, type GatewayConfig, type TargetGroupSpec } from './config.ts';
import { ALB_DEFAULTS } from './limits.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON walked by property name */
type Json = any;

export interface ImportOptions {
  /** Targets for each target group, by logical id / resource address / group name: `['127.0.0.1:3000']`. */
  map: Record<string, string[]>;
  /** Local port for a listener port of the template (80 → 8080 when absent: ports under 1024 get +8000). */
  listenPorts?: Record<number, number>;
  /** Template parameter values (else each parameter's Default). */
  parameters?: Record<string, string>;
}

export interface Imported {
  config: GatewayConfig;
  /** Parts the gateway cannot emulate, each with where it is. */
  unsupported: string[];
  /** What was changed to run locally (listener ports, certificates). */
  notes: string[];
  /** Template listener port → local port. */
  ports: Record<number, number>;
}

// ---- reading the text ----

/** CloudFormation's short-form tags, as the long form `{ "Fn::X": … }` (AWS, "Intrinsic function reference"). */
const SHORT_TAGS: Array<ScalarTag | CollectionTag> = (
  [
    ['Ref', 'Ref'],
    ['GetAtt', 'Fn::GetAtt'],
    ['Sub', 'Fn::Sub'],
    ['Join', 'Fn::Join'],
    ['Select', 'Fn::Select'],
    ['Split', 'Fn::Split'],
    ['If', 'Fn::If'],
    ['Equals', 'Fn::Equals'],
    ['Not', 'Fn::Not'],
    ['And', 'Fn::And'],
    ['Or', 'Fn::Or'],
    ['FindInMap', 'Fn::FindInMap'],
    ['ImportValue', 'Fn::ImportValue'],
    ['GetAZs', 'Fn::GetAZs'],
    ['Base64', 'Fn::Base64'],
    ['Cidr', 'Fn::Cidr'],
    ['Condition', 'Condition'],
  ] as const
).flatMap(([tag, fn]) => {
  // `!GetAtt A.B` is the scalar form of `Fn::GetAtt: [A, B]`.
  const scalar = (v: string) => (fn === 'Fn::GetAtt' ? { [fn]: v.split('.', 2) } : { [fn]: v });
  return [
    { tag: `!${tag}`, resolve: (v: string) => scalar(v) } as ScalarTag,
    { tag: `!${tag}`, collection: 'seq', resolve: (seq: { toJSON(): unknown }) => ({ [fn]: seq.toJSON() }) } as unknown as CollectionTag,
    { tag: `!${tag}`, collection: 'map', resolve: (map: { toJSON(): unknown }) => ({ [fn]: map.toJSON() }) } as unknown as CollectionTag,
  ];
});

/** A template's text (JSON or YAML, short tags included) as an object. */
export function parseTemplate(text: string, source: string): Json {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new GatewayConfigError(`${source}: ${(e as Error).message}`);
    }
  }
  const doc = parseDocument(text, { customTags: SHORT_TAGS, uniqueKeys: true });
  if (doc.errors.length) throw new GatewayConfigError(`${source}: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc.toJS({ maxAliasCount: 100 });
}

// ---- intrinsic functions: resolved where a local run can know the value ----

class Resolver {
  readonly unresolved: string[] = [];
  constructor(
    private readonly resources: Record<string, Json>,
    private readonly parameters: Record<string, string>,
  ) {}

  /** Resolves `value`; a reference to a resource becomes its logical id (what rules and listeners point at). */
  value(v: Json, where: string): Json {
    if (Array.isArray(v)) return v.map((x, i) => this.value(x, `${where}[${i}]`));
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = v[k];
      switch (k) {
        case 'Ref':
          if (arg in this.resources) return arg;
          if (arg in this.parameters) return this.parameters[arg];
          if (arg === 'AWS::Region') return 'us-east-1';
          if (arg === 'AWS::StackName') return 'local';
          if (arg === 'AWS::AccountId') return '000000000000';
          return this.miss(where, `!Ref ${arg}`);
        case 'Fn::GetAtt': {
          const [res] = Array.isArray(arg) ? arg : String(arg).split('.');
          if (res in this.resources) return res; // …Arn, …LoadBalancerArns: the resource itself
          return this.miss(where, `!GetAtt ${Array.isArray(arg) ? arg.join('.') : arg}`);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          let failed = false;
          const out = String(text).replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
            if (vars && name in vars) return String(this.value(vars[name], where));
            const r = this.value(name.includes('.') ? { 'Fn::GetAtt': name.split('.', 2) } : { Ref: name }, where);
            if (r === undefined) failed = true;
            return String(r);
          });
          return failed ? undefined : out;
        }
        case 'Fn::Join': {
          const [sep, parts] = arg;
          const resolved = this.value(parts, where) as unknown[];
          return resolved.some((p) => p === undefined) ? undefined : resolved.join(sep);
        }
        case 'Fn::Select': {
          const [i, list] = arg;
          const resolved = this.value(list, where);
          return Array.isArray(resolved) ? resolved[Number(this.value(i, where))] : this.miss(where, 'Fn::Select');
        }
        case 'Fn::Split': {
          const [sep, text] = arg;
          const s = this.value(text, where);
          return typeof s === 'string' ? s.split(sep) : this.miss(where, 'Fn::Split');
        }
      }
      if (k.startsWith('Fn::') || k === 'Condition') return this.miss(where, k.replace('Fn::', '!'));
    }
    return Object.fromEntries(keys.map((k) => [k, this.value(v[k], `${where}.${k}`)]));
  }

  miss(where: string, what: string): undefined {
    this.unresolved.push(`${where}: ${what} cannot be resolved locally`);
    return undefined;
  }
}

// ---- CloudFormation → the gateway ----

const LB = 'AWS::ElasticLoadBalancingV2::LoadBalancer';
const LISTENER = 'AWS::ElasticLoadBalancingV2::Listener';
const RULE = 'AWS::ElasticLoadBalancingV2::ListenerRule';
const TG = 'AWS::ElasticLoadBalancingV2::TargetGroup';

const attrs = (list: Json): Record<string, string> => Object.fromEntries(((list ?? []) as Array<{ Key: string; Value: string }>).map((a) => [a.Key, String(a.Value)]));

export function fromCloudFormation(template: Json, o: ImportOptions, source = 'template'): Imported {
  const resources: Record<string, Json> = template?.Resources ?? {};
  if (typeof resources !== 'object' || Object.keys(resources).length === 0) throw new GatewayConfigError(`${source}: no Resources`);
  const parameters = Object.fromEntries(Object.entries((template.Parameters ?? {}) as Record<string, { Default?: unknown }>).map(([k, p]) => [k, String(o.parameters?.[k] ?? p.Default ?? '')]).filter(([, v]) => v !== ''));
  const r = new Resolver(resources, parameters);
  const unsupported: string[] = [];
  const notes: string[] = [];
  const of = (type: string) => Object.entries(resources).filter(([, res]) => res?.Type === type).map(([id, res]) => [id, r.value(res.Properties ?? {}, `${id}.Properties`)] as [string, Json]);

  // The load balancer: its attributes become the gateway's (ALB's idle timeout, client keep-alive and desync mode).
  const lbs = of(LB);
  if (lbs.length > 1) unsupported.push(`${lbs.map(([id]) => id).join(', ')}: one load balancer per gateway — the first is used`);
  const [lbId, lb] = lbs[0] ?? [undefined, {}];
  if (lb.Type && lb.Type !== 'application') unsupported.push(`${lbId}.Type: ${lb.Type} load balancers (only application)`);
  const lbAttrs = attrs(lb.LoadBalancerAttributes);
  const idle = lbAttrs['idle_timeout.timeout_seconds'];
  const desync = lbAttrs['routing.http.desync_mitigation_mode'];
  const keepAlive = lbAttrs['client_keep_alive.seconds'];
  for (const key of Object.keys(lbAttrs)) {
    if (!['idle_timeout.timeout_seconds', 'client_keep_alive.seconds', 'routing.http.desync_mitigation_mode', 'deletion_protection.enabled', 'access_logs.s3.enabled', 'access_logs.s3.bucket', 'access_logs.s3.prefix'].includes(key)) {
      unsupported.push(`${lbId}.LoadBalancerAttributes ${key}: not emulated`);
    }
  }

  // Target groups, each with its targets from --map.
  const groups: TargetGroupSpec[] = [];
  const groupName = new Map<string, string>();
  for (const [id, p] of of(TG)) {
    const where = `${id}`;
    if (p.TargetType === 'lambda') {
      unsupported.push(`${where}.TargetType: lambda targets`);
      continue;
    }
    if (p.Protocol && !['HTTP', 'HTTPS'].includes(p.Protocol)) unsupported.push(`${where}.Protocol: ${p.Protocol}`);
    if (p.ProtocolVersion && p.ProtocolVersion !== 'HTTP1') unsupported.push(`${where}.ProtocolVersion: ${p.ProtocolVersion} to targets (the gateway speaks HTTP/1.1 to them)`);
    const ta = attrs(p.TargetGroupAttributes);
    for (const key of Object.keys(ta)) {
      if (!['deregistration_delay.timeout_seconds', 'load_balancing.algorithm.type', 'slow_start.duration_seconds', 'stickiness.enabled'].includes(key)) unsupported.push(`${where}.TargetGroupAttributes ${key}: not emulated`);
    }
    if (ta['stickiness.enabled'] === 'true') unsupported.push(`${where}: stickiness (sticky sessions)`);
    if (Number(ta['slow_start.duration_seconds'] ?? 0) > 0) unsupported.push(`${where}: slow start`);
    const mapped = o.map[id] ?? (p.Name ? o.map[p.Name] : undefined) ?? [];
    if (mapped.length === 0) notes.push(`${id}: no --map ${id}=host:port, so no targets (requests forwarded to it get 503)`);
    const hc: NonNullable<TargetGroupSpec['healthCheck']> = {};
    if (p.HealthCheckPath) hc.path = p.HealthCheckPath;
    if (p.HealthCheckIntervalSeconds) hc.intervalMs = Number(p.HealthCheckIntervalSeconds) * 1000;
    if (p.HealthCheckTimeoutSeconds) hc.timeoutMs = Number(p.HealthCheckTimeoutSeconds) * 1000;
    if (p.HealthyThresholdCount) hc.healthyThreshold = Number(p.HealthyThresholdCount);
    if (p.UnhealthyThresholdCount) hc.unhealthyThreshold = Number(p.UnhealthyThresholdCount);
    if (p.Matcher?.HttpCode) hc.matcher = String(p.Matcher.HttpCode);
    if (p.Matcher?.GrpcCode) unsupported.push(`${where}.Matcher.GrpcCode: gRPC health checks`);
    if (p.HealthCheckEnabled === false) unsupported.push(`${where}.HealthCheckEnabled: false (the gateway always checks)`);
    const algorithm = ta['load_balancing.algorithm.type'];
    // Its Name when it has one (what an export wrote), so names survive export → import.
    const name = typeof p.Name === 'string' && p.Name ? p.Name : id;
    groupName.set(id, name);
    groups.push({
      name,
      ...(algorithm === 'round_robin' || algorithm === 'least_outstanding_requests' ? { algorithm } : {}),
      ...(ta['deregistration_delay.timeout_seconds'] !== undefined ? { deregistrationDelayMs: Number(ta['deregistration_delay.timeout_seconds']) * 1000 } : {}),
      ...(Object.keys(hc).length ? { healthCheck: hc } : {}),
      targets: mapped.map((addr) => {
        const m = /^([^:\s]+):(\d{1,5})$/.exec(addr);
        if (!m) throw new GatewayConfigError(`--map ${id}=${addr}: expected host:port`);
        return { id: addr, host: m[1]!, port: Number(m[2]) };
      }),
    });
  }
  for (const key of Object.keys(o.map)) {
    if (!groupName.has(key) && !groups.some((g) => g.name === key)) throw new GatewayConfigError(`--map ${key}: no target group ${key} in ${source}`);
  }

  const actionOf = (a: Json, where: string): Action | undefined => {
    switch (a?.Type) {
      case 'forward': {
        const list: Array<{ TargetGroupArn: string; Weight?: number }> = a.ForwardConfig?.TargetGroups ?? (a.TargetGroupArn ? [{ TargetGroupArn: a.TargetGroupArn }] : []);
        if (list.some((g) => !groupName.has(g.TargetGroupArn))) {
          unsupported.push(`${where}: forwards to ${list.map((g) => g.TargetGroupArn).join(', ')}, not a target group the gateway has`);
          return undefined;
        }
        if (a.ForwardConfig?.TargetGroupStickinessConfig?.Enabled) unsupported.push(`${where}: target group stickiness`);
        return { type: 'forward', targetGroups: list.map((g) => ({ name: groupName.get(g.TargetGroupArn)!, ...(list.length > 1 || g.Weight !== undefined ? { weight: Number(g.Weight ?? 1) } : {}) })) };
      }
      case 'redirect': {
        const c = a.RedirectConfig ?? {};
        const port = c.Port && /^\d+$/.test(String(c.Port)) ? String(localPort(Number(c.Port))) : c.Port;
        return {
          type: 'redirect',
          statusCode: c.StatusCode,
          ...(c.Protocol ? { protocol: c.Protocol } : {}),
          ...(c.Host ? { host: c.Host } : {}),
          ...(port ? { port: String(port) } : {}),
          ...(c.Path ? { path: c.Path } : {}),
          ...(c.Query !== undefined ? { query: c.Query } : {}),
        };
      }
      case 'fixed-response': {
        const c = a.FixedResponseConfig ?? {};
        return { type: 'fixed-response', statusCode: String(c.StatusCode), ...(c.ContentType ? { contentType: c.ContentType } : {}), ...(c.MessageBody !== undefined ? { messageBody: c.MessageBody } : {}) };
      }
      default:
        unsupported.push(`${where}: ${a?.Type ?? 'an action without Type'} actions`);
        return undefined;
    }
  };
  const actionsOf = (list: Json, where: string): Action[] | undefined => {
    const all = ((list ?? []) as Json[]).slice().sort((x, y) => (x.Order ?? 0) - (y.Order ?? 0));
    // ALB runs authenticate actions first, then the one final action: locally only the final one can run.
    const final = all.filter((a) => !String(a.Type).startsWith('authenticate'));
    for (const a of all.filter((x) => String(x.Type).startsWith('authenticate'))) unsupported.push(`${where}: ${a.Type} (requests pass unauthenticated locally)`);
    const mapped = final.map((a, i) => actionOf(a, `${where}[${i}]`));
    return mapped.length === 1 && mapped[0] ? [mapped[0]] : undefined;
  };

  // Listener ports: the template's, or a free local one for a privileged port.
  const ports: Record<number, number> = {};
  const localPort = (p: number) => o.listenPorts?.[p] ?? ports[p] ?? (p < 1024 ? p + 8000 : p);

  const listeners: GatewayConfig['listeners'] = [];
  const listenerIndex = new Map<string, number>();
  for (const [id, p] of of(LISTENER)) {
    if (!['HTTP', 'HTTPS'].includes(p.Protocol)) {
      unsupported.push(`${id}.Protocol: ${p.Protocol} listeners`);
      continue;
    }
    const port = localPort(Number(p.Port));
    ports[Number(p.Port)] = port;
    if (port !== Number(p.Port)) notes.push(`${id}: port ${p.Port} listens on ${port} locally`);
    if (p.Protocol === 'HTTPS') notes.push(`${id}: HTTPS with a self-signed certificate instead of ${p.Certificates?.[0]?.CertificateArn ?? 'its certificate'}`);
    if (p.MutualAuthentication && p.MutualAuthentication.Mode !== 'off') unsupported.push(`${id}.MutualAuthentication: mutual TLS`);
    const defaultActions = actionsOf(p.DefaultActions, `${id}.DefaultActions`);
    if (!defaultActions) {
      unsupported.push(`${id}: no default action the gateway can run — listener skipped`);
      continue;
    }
    listenerIndex.set(id, listeners.length);
    listeners.push({ protocol: p.Protocol, port, defaultActions, rules: [] });
  }

  for (const [id, p] of of(RULE)) {
    const i = listenerIndex.get(p.ListenerArn);
    if (i === undefined) {
      unsupported.push(`${id}.ListenerArn: ${p.ListenerArn ?? '(missing)'} is no listener the gateway has`);
      continue;
    }
    const conditions: Condition[] = [];
    let skip = false;
    for (const [k, c] of ((p.Conditions ?? []) as Json[]).entries()) {
      const where = `${id}.Conditions[${k}]`;
      const cond = conditionOf(c);
      if (cond) conditions.push(cond);
      else {
        unsupported.push(`${where}: ${c?.Field ?? 'a condition without Field'}`);
        skip = true;
      }
    }
    const actions = actionsOf(p.Actions, `${id}.Actions`);
    if (skip || !actions) {
      unsupported.push(`${id}: rule skipped`);
      continue;
    }
    listeners[i]!.rules!.push({ priority: Number(p.Priority), conditions, actions });
  }
  for (const l of listeners) if (l.rules!.length === 0) delete l.rules;

  // A value the gateway never reads (the network, tags, the certificate) may stay unknown without changing anything.
  const unread = /\.Properties\.(Subnets|SubnetMappings|SecurityGroups|VpcId|Scheme|IpAddressType|Tags|Certificates|LoadBalancerArn|Targets)\b/;
  unsupported.push(...r.unresolved.filter((u) => !unread.test(u)));
  for (const [id, res] of Object.entries(resources)) {
    if (typeof res?.Type === 'string' && res.Type.startsWith('AWS::ElasticLoadBalancingV2::') && ![LB, LISTENER, RULE, TG].includes(res.Type)) unsupported.push(`${id}: ${res.Type}`);
    if (res?.Type === 'AWS::WAFv2::WebACLAssociation') unsupported.push(`${id}: WAF (requests are not filtered locally)`);
  }
  if (listeners.length === 0) throw new GatewayConfigError(`${source}: no listener the gateway can run${unsupported.length ? ` (${unsupported.join('; ')})` : ''}`);
  const config = validateGatewayConfig(
    {
      listeners,
      targetGroups: groups.length ? groups : [{ name: 'none' }],
      ...(idle ? { idleTimeoutMs: Number(idle) * 1000 } : {}),
      ...(keepAlive ? { clientKeepAliveMs: Number(keepAlive) * 1000 } : {}),
      ...(desync ? { desyncMitigationMode: desync } : {}),
    },
    source,
  );
  return { config, unsupported, notes, ports };
}

/** A ListenerRule condition (the `…Config` forms, and the older `Values` form of host-header and path-pattern). */
function conditionOf(c: Json): Condition | undefined {
  switch (c?.Field) {
    case 'host-header':
      return { field: 'host-header', values: c.HostHeaderConfig?.Values ?? c.Values };
    case 'path-pattern':
      return { field: 'path-pattern', values: c.PathPatternConfig?.Values ?? c.Values };
    case 'http-request-method':
      return { field: 'http-request-method', values: c.HttpRequestMethodConfig?.Values ?? c.Values };
    case 'http-header':
      return { field: 'http-header', httpHeaderName: c.HttpHeaderConfig?.HttpHeaderName, values: c.HttpHeaderConfig?.Values };
    case 'query-string':
      return { field: 'query-string', values: (c.QueryStringConfig?.Values ?? []).map((v: { Key?: string; Value: string }) => ({ ...(v.Key !== undefined ? { key: v.Key } : {}), value: v.Value })) };
    case 'source-ip':
      return { field: 'source-ip', values: c.SourceIpConfig?.Values ?? c.Values };
  }
  return undefined;
}

// ---- Terraform (plan JSON) → the CloudFormation shape ----

const TF_TYPES: Record<string, string> = {
  aws_lb: LB,
  aws_alb: LB,
  aws_lb_listener: LISTENER,
  aws_alb_listener: LISTENER,
  aws_lb_listener_rule: RULE,
  aws_alb_listener_rule: RULE,
  aws_lb_target_group: TG,
  aws_alb_target_group: TG,
};

const first = (v: Json) => (Array.isArray(v) ? v[0] : v);

/**
 * A Terraform plan's `aws_lb*` resources, as CloudFormation resources keyed by their Terraform address. References
 * between them (`listener_arn = aws_lb_listener.front.arn`) are unknown at plan time; the plan's `configuration`
 * section names them, so they are read from there.
 */
export function terraformToCloudFormation(plan: Json, source = 'plan'): Json {
  const planned: Json[] = [];
  const walk = (m: Json) => {
    for (const r of m?.resources ?? []) planned.push(r);
    for (const c of m?.child_modules ?? []) walk(c);
  };
  walk(plan?.planned_values?.root_module);
  if (planned.length === 0) throw new GatewayConfigError(`${source}: no planned_values.root_module.resources (make it with terraform show -json)`);
  const refs = new Map<string, Record<string, string[]>>();
  const collect = (m: Json, prefix: string) => {
    for (const r of m?.resources ?? []) {
      const found: Record<string, string[]> = {};
      const visit = (e: Json, path: string) => {
        if (e && typeof e === 'object' && Array.isArray(e.references)) found[path] = e.references;
        else if (Array.isArray(e)) e.forEach((x, i) => visit(x, `${path}[${i}]`));
        else if (e && typeof e === 'object') for (const [k, v] of Object.entries(e)) visit(v, path ? `${path}.${k}` : k);
      };
      visit(r.expressions ?? {}, '');
      refs.set(prefix + r.address, found);
    }
    for (const [name, call] of Object.entries(m?.module_calls ?? {})) collect((call as Json).module, `${prefix}module.${name}.`);
  };
  collect(plan?.configuration?.root_module, '');
  const target = (address: string, path: string, value: unknown): string | undefined => {
    if (typeof value === 'string' && value) return value;
    // `aws_lb_listener.front.arn` → the resource `aws_lb_listener.front`
    const ref = refs.get(address)?.[path]?.find((x) => /^(aws_a?lb\w*)\.[\w-]+$/.test(x)) ?? refs.get(address)?.[path]?.[0]?.replace(/\.arn$/, '');
    return ref;
  };

  const resources: Record<string, Json> = {};
  const pick = (address: string, path: string, v: Json) => (typeof v === 'string' && !/^arn:/.test(v) ? v : target(address, path, undefined) ?? v);
  const actions = (address: string, base: string, list: Json[]) =>
    (list ?? []).map((a: Json, i: number) => {
      const p = `${base}[${i}]`;
      const type = a.type;
      if (type === 'forward') {
        const fwd = first(a.forward);
        const groups = fwd?.target_group?.length
          ? fwd.target_group.map((g: Json, k: number) => ({ TargetGroupArn: pick(address, `${p}.forward[0].target_group[${k}].arn`, g.arn), Weight: g.weight }))
          : [{ TargetGroupArn: pick(address, `${p}.target_group_arn`, a.target_group_arn) }];
        return { Type: 'forward', Order: a.order, ForwardConfig: { TargetGroups: groups } };
      }
      if (type === 'redirect') {
        const c = first(a.redirect) ?? {};
        return { Type: 'redirect', Order: a.order, RedirectConfig: { Protocol: c.protocol, Host: c.host, Port: c.port, Path: c.path, Query: c.query, StatusCode: c.status_code } };
      }
      if (type === 'fixed-response') {
        const c = first(a.fixed_response) ?? {};
        return { Type: 'fixed-response', Order: a.order, FixedResponseConfig: { StatusCode: c.status_code, ContentType: c.content_type, MessageBody: c.message_body } };
      }
      return { Type: type, Order: a.order };
    });
  const strip = (o: Json): Json => (Array.isArray(o) ? o.map(strip) : o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, strip(v)])) : o);

  for (const r of planned) {
    const type = TF_TYPES[r.type];
    if (!type) continue;
    const v = r.values ?? {};
    const a = r.address as string;
    let props: Json;
    if (type === LB) {
      props = {
        Type: v.load_balancer_type ?? 'application',
        LoadBalancerAttributes: [
          ...(v.idle_timeout !== undefined ? [{ Key: 'idle_timeout.timeout_seconds', Value: String(v.idle_timeout) }] : []),
          ...(v.client_keep_alive !== undefined ? [{ Key: 'client_keep_alive.seconds', Value: String(v.client_keep_alive) }] : []),
          ...(v.desync_mitigation_mode ? [{ Key: 'routing.http.desync_mitigation_mode', Value: v.desync_mitigation_mode }] : []),
        ],
      };
    } else if (type === TG) {
      const hc = first(v.health_check) ?? {};
      props = {
        Name: v.name,
        Protocol: v.protocol,
        TargetType: v.target_type,
        HealthCheckEnabled: hc.enabled,
        HealthCheckPath: hc.path,
        HealthCheckIntervalSeconds: hc.interval,
        HealthCheckTimeoutSeconds: hc.timeout,
        HealthyThresholdCount: hc.healthy_threshold,
        UnhealthyThresholdCount: hc.unhealthy_threshold,
        Matcher: hc.matcher ? { HttpCode: hc.matcher } : undefined,
        TargetGroupAttributes: [
          ...(v.deregistration_delay !== undefined ? [{ Key: 'deregistration_delay.timeout_seconds', Value: String(v.deregistration_delay) }] : []),
          ...(v.load_balancing_algorithm_type ? [{ Key: 'load_balancing.algorithm.type', Value: v.load_balancing_algorithm_type }] : []),
        ],
      };
    } else if (type === LISTENER) {
      props = { Port: v.port, Protocol: v.protocol, Certificates: v.certificate_arn ? [{ CertificateArn: v.certificate_arn }] : undefined, DefaultActions: actions(a, 'default_action', v.default_action) };
    } else {
      const conditions = (v.condition ?? []).map((c: Json) => {
        if (c.host_header?.length) return { Field: 'host-header', HostHeaderConfig: { Values: first(c.host_header).values } };
        if (c.path_pattern?.length) return { Field: 'path-pattern', PathPatternConfig: { Values: first(c.path_pattern).values } };
        if (c.http_request_method?.length) return { Field: 'http-request-method', HttpRequestMethodConfig: { Values: first(c.http_request_method).values } };
        if (c.http_header?.length) return { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: first(c.http_header).http_header_name, Values: first(c.http_header).values } };
        if (c.query_string?.length) return { Field: 'query-string', QueryStringConfig: { Values: c.query_string.map((q: Json) => ({ Key: q.key ?? undefined, Value: q.value })) } };
        if (c.source_ip?.length) return { Field: 'source-ip', SourceIpConfig: { Values: first(c.source_ip).values } };
        return { Field: Object.keys(c).find((k) => c[k]?.length) ?? 'unknown' };
      });
      props = { ListenerArn: pick(a, 'listener_arn', v.listener_arn), Priority: v.priority, Conditions: conditions, Actions: actions(a, 'action', v.action) };
    }
    resources[a] = { Type: type, Properties: strip(props) };
  }
  return { Resources: resources };
}

// ---- the gateway → CloudFormation ----

/**
 * The configuration as a CloudFormation template: what was tested locally is what gets deployed. The network
 * (VPC, subnets, security groups) and the certificate are parameters: they are the account's, not the gateway's.
 */
export function toCloudFormation(config: GatewayConfig): Json {
  const id = (name: string) => `${name.replace(/[^A-Za-z0-9]/g, '')}TargetGroup`;
  const action = (a: Action, order?: number): Json => {
    const base = order !== undefined ? { Order: order } : {};
    if (a.type === 'forward') {
      return a.targetGroups.length === 1 && a.targetGroups[0]!.weight === undefined
        ? { ...base, Type: 'forward', TargetGroupArn: { Ref: id(a.targetGroups[0]!.name) } }
        : { ...base, Type: 'forward', ForwardConfig: { TargetGroups: a.targetGroups.map((g) => ({ TargetGroupArn: { Ref: id(g.name) }, Weight: g.weight ?? 1 })) } };
    }
    if (a.type === 'redirect') {
      const c: Json = { StatusCode: a.statusCode };
      if (a.protocol) c.Protocol = a.protocol;
      if (a.host) c.Host = a.host;
      if (a.port) c.Port = a.port;
      if (a.path) c.Path = a.path;
      if (a.query !== undefined) c.Query = a.query;
      return { ...base, Type: 'redirect', RedirectConfig: c };
    }
    return { ...base, Type: 'fixed-response', FixedResponseConfig: { StatusCode: a.statusCode, ...(a.contentType ? { ContentType: a.contentType } : {}), ...(a.messageBody !== undefined ? { MessageBody: a.messageBody } : {}) } };
  };
  const condition = (c: Condition): Json => {
    switch (c.field) {
      case 'host-header':
        return { Field: c.field, HostHeaderConfig: { Values: c.values } };
      case 'path-pattern':
        return { Field: c.field, PathPatternConfig: { Values: c.values } };
      case 'http-request-method':
        return { Field: c.field, HttpRequestMethodConfig: { Values: c.values } };
      case 'http-header':
        return { Field: c.field, HttpHeaderConfig: { HttpHeaderName: c.httpHeaderName, Values: c.values } };
      case 'query-string':
        return { Field: c.field, QueryStringConfig: { Values: c.values.map((v) => ({ ...(v.key !== undefined ? { Key: v.key } : {}), Value: v.value })) } };
      case 'source-ip':
        return { Field: c.field, SourceIpConfig: { Values: c.values } };
    }
  };
  const resources: Record<string, Json> = {
    LoadBalancer: {
      Type: LB,
      Properties: {
        Type: 'application',
        Scheme: 'internet-facing',
        Subnets: { Ref: 'Subnets' },
        SecurityGroups: { Ref: 'SecurityGroups' },
        LoadBalancerAttributes: [
          { Key: 'idle_timeout.timeout_seconds', Value: String(Math.max(1, Math.round((config.idleTimeoutMs ?? ALB_DEFAULTS.idleTimeoutMs) / 1000))) },
          { Key: 'routing.http.desync_mitigation_mode', Value: config.desyncMitigationMode ?? 'defensive' },
          ...(config.clientKeepAliveMs !== undefined ? [{ Key: 'client_keep_alive.seconds', Value: String(Math.round(config.clientKeepAliveMs / 1000)) }] : []),
        ],
      },
    },
  };
  for (const g of config.targetGroups) {
    const hc = g.healthCheck ?? {};
    resources[id(g.name)] = {
      Type: TG,
      Properties: {
        Name: g.name.slice(0, 32),
        VpcId: { Ref: 'VpcId' },
        Protocol: 'HTTP',
        Port: g.targets?.[0]?.port ?? 80,
        TargetType: 'ip',
        ...(hc.path ? { HealthCheckPath: hc.path } : {}),
        ...(hc.intervalMs ? { HealthCheckIntervalSeconds: Math.max(5, Math.round(hc.intervalMs / 1000)) } : {}),
        ...(hc.timeoutMs ? { HealthCheckTimeoutSeconds: Math.max(2, Math.round(hc.timeoutMs / 1000)) } : {}),
        ...(hc.healthyThreshold ? { HealthyThresholdCount: Math.max(2, hc.healthyThreshold) } : {}),
        ...(hc.unhealthyThreshold ? { UnhealthyThresholdCount: Math.max(2, hc.unhealthyThreshold) } : {}),
        ...(hc.matcher ? { Matcher: { HttpCode: hc.matcher } } : {}),
        TargetGroupAttributes: [
          ...(g.deregistrationDelayMs !== undefined ? [{ Key: 'deregistration_delay.timeout_seconds', Value: String(Math.round(g.deregistrationDelayMs / 1000)) }] : []),
          ...(g.algorithm ? [{ Key: 'load_balancing.algorithm.type', Value: g.algorithm }] : []),
        ],
      },
    };
  }
  config.listeners.forEach((l, i) => {
    const name = `Listener${l.protocol}${l.port}`.replace(/[^A-Za-z0-9]/g, '') || `Listener${i}`;
    resources[name] = {
      Type: LISTENER,
      Properties: {
        LoadBalancerArn: { Ref: 'LoadBalancer' },
        Protocol: l.protocol,
        Port: l.port,
        ...(l.protocol === 'HTTPS' ? { Certificates: [{ CertificateArn: { Ref: 'CertificateArn' } }] } : {}),
        DefaultActions: l.defaultActions.map((a) => action(a)),
      },
    };
    for (const r of l.rules ?? []) {
      resources[`${name}Rule${r.priority}`] = {
        Type: RULE,
        Properties: { ListenerArn: { Ref: name }, Priority: r.priority, Conditions: r.conditions.map(condition), Actions: r.actions.map((a, k) => action(a, k + 1)) },
      };
    }
  });
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'An Application Load Balancer exported by `receipt gateway --export cloudformation`: the configuration tested locally.',
    Parameters: {
      VpcId: { Type: 'AWS::EC2::VPC::Id' },
      Subnets: { Type: 'List<AWS::EC2::Subnet::Id>' },
      SecurityGroups: { Type: 'List<AWS::EC2::SecurityGroup::Id>' },
      ...(config.listeners.some((l) => l.protocol === 'HTTPS') ? { CertificateArn: { Type: 'String', Description: 'ACM certificate for the HTTPS listener' } } : {}),
    },
    Resources: resources,
  };
}

/** The template as YAML (long-form intrinsics, readable by every CloudFormation tool). */
export function formatTemplate(template: Json, format: 'yaml' | 'json' = 'yaml'): string {
  return format === 'json' ? JSON.stringify(template, null, 2) + '\n' : stringify(template, { lineWidth: 0 });
}
