/**
 * A CloudFormation template's text and its intrinsic functions, resolved where a local run can know the value
 * (AWS, "Intrinsic function reference"; "Conditions"; "Mappings"; "Parameters"). What cannot be known locally is
 * recorded with where it stands and what to pass, never guessed: the importer then skips and names what needs it.
 */
import { parseDocument, type CollectionTag, type ScalarTag } from 'yaml';
import { GatewayConfigError } from '../config.ts';
import type { Json, Template } from './shapes.ts';

/** CloudFormation's short-form tags, as the long form `{ "Fn::X": … }`. */
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
  // `!GetAtt A.B` is the scalar form of `Fn::GetAtt: [A, B]`; the attribute may itself have dots (`Stack.Outputs.X`).
  const scalar = (v: string) => {
    const dot = v.indexOf('.');
    return fn === 'Fn::GetAtt' ? { [fn]: dot < 0 ? [v] : [v.slice(0, dot), v.slice(dot + 1)] } : { [fn]: v };
  };
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

/** `AWS::NoValue`: the property or list item that resolves to it is removed (AWS, "Pseudo parameters"). */
const NO_VALUE = Symbol('AWS::NoValue');

/** Pseudo parameters with a fixed local value: the region and account are placeholders that no rule depends on. */
const PSEUDO: Record<string, unknown> = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '000000000000',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'local',
  'AWS::StackId': 'arn:aws:cloudformation:us-east-1:000000000000:stack/local/0',
  'AWS::NotificationARNs': [],
};

export interface Unresolved {
  /** Where in the template: `Rule.Properties.Conditions[1].Values[0]`. */
  where: string;
  what: string;
  /** What the user can pass to resolve it. */
  hint?: string;
}

export interface ResolveInputs {
  /** Values given on the command line (`--parameter Name=value`), or by a parent stack (resolved already). */
  parameters?: Record<string, unknown>;
  /** Exports of the templates given (`Fn::ImportValue`), by export name; read when a value is resolved. */
  exports?: Record<string, unknown>;
  /** A nested stack's outputs (`!GetAtt Stack.Outputs.Name`), by the stack resource's logical id. */
  stackOutputs?: (stack: string) => Record<string, unknown> | undefined;
  /**
   * Put before every resource's logical id a reference resolves to: templates read together (nested stacks, several
   * files) each keep their own ids, and `Stack.Id` keeps them apart in one load balancer.
   */
  idPrefix?: string;
  /** For a nested stack: where its parent sets its parameters (a missing one is the parent's to pass). */
  parametersFrom?: string;
}

export class Resolver {
  readonly unresolved: Unresolved[] = [];
  readonly #template: Template;
  readonly #params: Record<string, unknown> = {};
  readonly #missingParams = new Set<string>();
  readonly #conditions = new Map<string, boolean | undefined>();
  readonly #in: ResolveInputs;

  constructor(template: Template, inputs: ResolveInputs = {}) {
    this.#template = template;
    this.#in = inputs;
    for (const [name, p] of Object.entries(template.Parameters ?? {})) {
      const given = inputs.parameters?.[name] ?? (p?.Default !== undefined ? String(p.Default) : undefined);
      if (given === undefined) {
        this.#missingParams.add(name);
        continue;
      }
      // List parameters resolve to a list (AWS, "Parameters": CommaDelimitedList and List<…>).
      const list = /^(List<|CommaDelimitedList)/.test(String(p?.Type ?? ''));
      this.#params[name] = list && typeof given === 'string' ? given.split(',').map((s) => s.trim()) : given;
    }
  }

  /** Whether a resource or output with `Condition: name` exists; undefined when the condition cannot be known. */
  condition(name: string, where = `Conditions.${name}`): boolean | undefined {
    if (this.#conditions.has(name)) return this.#conditions.get(name);
    this.#conditions.set(name, undefined); // a cycle resolves to unknown
    const def = this.#template.Conditions?.[name];
    const v = def === undefined ? this.miss(where, `Condition ${name} (not declared)`) : this.#bool(def, where);
    this.#conditions.set(name, v);
    return v;
  }

  #bool(v: Json, where: string): boolean | undefined {
    if (typeof v === 'boolean') return v;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const [k] = Object.keys(v);
      const arg = v[k!];
      switch (k) {
        case 'Condition':
          return this.condition(String(arg), where);
        case 'Fn::Equals': {
          const [a, b] = (arg as Json[]).map((x, i) => this.value(x, `${where}.Fn::Equals[${i}]`));
          return a === undefined || b === undefined ? undefined : JSON.stringify(a) === JSON.stringify(b);
        }
        case 'Fn::Not': {
          const x = this.#bool((arg as Json[])[0], where);
          return x === undefined ? undefined : !x;
        }
        case 'Fn::And':
        case 'Fn::Or': {
          const xs = (arg as Json[]).map((x) => this.#bool(x, where));
          if (k === 'Fn::And') return xs.includes(false) ? false : xs.includes(undefined) ? undefined : true;
          return xs.includes(true) ? true : xs.includes(undefined) ? undefined : false;
        }
      }
    }
    if (v === 'true' || v === 'false') return v === 'true';
    return this.miss(where, `condition ${JSON.stringify(v)}`);
  }

  /** Resolves `v`; a reference to a resource becomes its logical id (what rules and listeners point at). */
  value(v: Json, where: string): Json {
    const out = this.#value(v, where);
    return out === NO_VALUE ? undefined : out;
  }

  #value(v: Json, where: string): Json {
    if (Array.isArray(v)) return v.map((x, i) => this.#value(x, `${where}[${i}]`)).filter((x) => x !== NO_VALUE);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = v[k];
      switch (k) {
        case 'Ref':
          return this.#ref(String(arg), where);
        case 'Fn::GetAtt': {
          const [res, ...attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
          const attribute = attr.join('.');
          // A nested stack's output: `!GetAtt Stack.Outputs.Name`.
          const outputs = attribute.startsWith('Outputs.') ? this.#in.stackOutputs?.(res!) : undefined;
          if (outputs) {
            const out = outputs[attribute.slice('Outputs.'.length)];
            return out === undefined ? this.miss(where, `!GetAtt ${res}.${attribute} (no such output, or it cannot be resolved)`) : out;
          }
          if (res! in (this.#template.Resources ?? {})) return this.#id(res!); // …Arn, …ListenerArn: the resource itself
          return this.miss(where, `!GetAtt ${res}.${attribute}`);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          let failed = false;
          const out = String(text).replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
            const r = vars && name in vars ? this.value(vars[name], where) : this.value(name.includes('.') ? { 'Fn::GetAtt': name.split('.') } : { Ref: name }, where);
            if (r === undefined) failed = true;
            return String(r);
          });
          return failed ? undefined : out.replace(/\$\{!/g, '${');
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json];
          const resolved = this.value(parts, where);
          return Array.isArray(resolved) && !resolved.some((p) => p === undefined) ? resolved.join(sep) : undefined;
        }
        case 'Fn::Select': {
          const [i, list] = arg as [Json, Json];
          const resolved = this.value(list, where);
          return Array.isArray(resolved) ? resolved[Number(this.value(i, where))] : this.miss(where, 'Fn::Select');
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, Json];
          const s = this.value(text, where);
          return typeof s === 'string' ? s.split(sep) : this.miss(where, 'Fn::Split');
        }
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, Json, Json];
          const c = this.condition(String(cond), where);
          if (c === undefined) return undefined;
          return this.#value(c ? yes : no, where);
        }
        case 'Fn::FindInMap': {
          const [map, top, second] = (arg as Json[]).map((x) => this.value(x, where));
          const found = this.#template.Mappings?.[String(map)]?.[String(top)]?.[String(second)];
          return found === undefined ? this.miss(where, `!FindInMap [${map}, ${top}, ${second}]`) : found;
        }
        case 'Fn::ImportValue': {
          const name = this.value(arg, where);
          const exports = this.#in.exports ?? {};
          if (typeof name === 'string' && name in exports) return exports[name];
          return this.miss(where, `!ImportValue ${name ?? JSON.stringify(arg)}`, 'give the template that exports it too (several --cloudformation files)');
        }
        case 'Fn::GetAZs':
          return ['us-east-1a', 'us-east-1b', 'us-east-1c'];
        case 'Fn::Base64': {
          const s = this.value(arg, where);
          return typeof s === 'string' ? Buffer.from(s).toString('base64') : undefined;
        }
      }
      if (k.startsWith('Fn::') || k === 'Condition') return this.miss(where, k.replace('Fn::', '!'));
    }
    const out: Record<string, Json> = {};
    for (const k of keys) {
      const x = this.#value(v[k], `${where}.${k}`);
      if (x !== NO_VALUE) out[k] = x;
    }
    return out;
  }

  #ref(name: string, where: string): Json {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in (this.#template.Resources ?? {})) return this.#id(name);
    if (name in this.#params) return this.#params[name];
    if (this.#missingParams.has(name)) {
      const noEcho = this.#template.Parameters?.[name]?.NoEcho === true || this.#template.Parameters?.[name]?.NoEcho === 'true';
      const hint = this.#in.parametersFrom ? `${this.#in.parametersFrom} gives it no value that can be resolved` : `pass --parameter ${name}=…`;
      return this.miss(where, `parameter ${name} has no value${noEcho ? ' (NoEcho, no Default)' : ' (no Default)'}`, hint);
    }
    if (name in PSEUDO) return PSEUDO[name];
    return this.miss(where, `!Ref ${name}`);
  }

  #id(logicalId: string): string {
    return (this.#in.idPrefix ?? '') + logicalId;
  }

  /** Values another resolver could not resolve, for templates read by stacks.ts before this one maps them. */
  adopt(list: readonly Unresolved[]): void {
    this.unresolved.push(...list);
  }

  miss(where: string, what: string, hint?: string): undefined {
    this.unresolved.push({ where, what, ...(hint ? { hint } : {}) });
    return undefined;
  }
}

/** Whether a resolved value still holds something that could not be resolved (undefined anywhere inside). */
export function hasHole(v: unknown): boolean {
  if (v === undefined) return true;
  if (Array.isArray(v)) return v.some(hasHole);
  if (v && typeof v === 'object') return Object.values(v).some(hasHole);
  return false;
}

/** One line for an unresolved value: where, what, and what to pass. */
export const describeUnresolved = (u: Unresolved) => `${u.where}: ${u.what} cannot be resolved locally${u.hint ? ` — ${u.hint}` : ''}`;
