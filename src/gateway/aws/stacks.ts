/**
 * Stacks as people write them, read as one load balancer: several templates given at once, nested stacks
 * (`AWS::CloudFormation::Stack` with a `TemplateURL`) found beside their parent, and `cdk synth`'s output folder.
 *
 * Each template keeps its own logical ids; a nested stack's resources are known as `Stack.Id` (its parent's ids
 * before it: `ServiceA.TargetGroup`), and so are several root templates' (`file.Id`), so two services that both call
 * their target group `TargetGroup` stay two. Parameters a parent passes, `!GetAtt Stack.Outputs.Name` and
 * `Fn::ImportValue` of another template's `Export` are resolved across them (AWS, "Working with nested stacks",
 * "Fn::ImportValue"). The result is one template whose load-balancer resources carry resolved properties, for
 * cloudformation.ts to map; what could not be resolved travels with it, so the rule that needs it is skipped and
 * named there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GatewayConfigError } from '../config.ts';
import { LB, OTHER_TYPES } from './catalogue.ts';
import type { Json, Template } from './shapes.ts';
import { parseTemplate, Resolver, type Unresolved } from './template.ts';

const STACK = 'AWS::CloudFormation::Stack';

export interface StackSources {
  /** Templates (JSON or YAML) and `cdk.out` folders, read together. */
  files: string[];
  /** Parameter values for the root templates (`--parameter Name=value`). */
  parameters?: Record<string, string>;
  /** A nested stack's template file, by its `TemplateURL` or its logical id path (`--template-url URL=file`). */
  templateUrls?: Record<string, string>;
}

/** Whether a resource is one the importer reads: the load balancer's, or one it names (WAF, trust stores). */
const isLoadBalancerPart = (type: unknown) => typeof type === 'string' && (type.startsWith('AWS::ElasticLoadBalancingV2::') || type in OTHER_TYPES);

class Loader {
  readonly resources: Record<string, { Type: string; Properties: Json }> = {};
  readonly notes: string[] = [];
  /** Exports by name; values are computed when an `Fn::ImportValue` asks (getters). */
  readonly exports: Record<string, unknown> = {};
  readonly stacks: StackReader[] = [];
  constructor(readonly templateUrls: Record<string, string>) {}
}

class StackReader {
  readonly resolver: Resolver;
  readonly #children = new Map<string, StackReader | null>();
  #outputs: Record<string, unknown> | undefined;
  #computingOutputs = false;

  constructor(
    readonly loader: Loader,
    readonly file: string,
    readonly template: Template,
    /** `''` for a single root template; else `Parent.` or `file.`. */
    readonly prefix: string,
    parameters: Record<string, unknown>,
    parametersFrom?: string,
  ) {
    if (!template || typeof template !== 'object' || typeof template.Resources !== 'object') throw new GatewayConfigError(`${file}: no Resources`);
    this.resolver = new Resolver(template, {
      parameters,
      exports: loader.exports,
      stackOutputs: (id) => this.child(id)?.outputs(),
      idPrefix: prefix,
      ...(parametersFrom ? { parametersFrom } : {}),
    });
    loader.stacks.push(this);
    for (const [name, out] of Object.entries(template.Outputs ?? {})) {
      if (out?.Export?.Name === undefined) continue;
      const exportName = this.resolver.value(out.Export.Name, `${prefix}Outputs.${name}.Export.Name`);
      if (typeof exportName !== 'string') continue;
      Object.defineProperty(loader.exports, exportName, { enumerable: true, configurable: true, get: () => this.outputs()[name] });
    }
    // Nested stacks are read now, so their exports are known before any value asks for one.
    for (const [id, res] of Object.entries(template.Resources ?? {})) if (res?.Type === STACK) this.child(id);
  }

  outputs(): Record<string, unknown> {
    if (this.#outputs) return this.#outputs;
    if (this.#computingOutputs) return {}; // a cycle between stacks: nothing can come of it
    this.#computingOutputs = true;
    const out: Record<string, unknown> = {};
    for (const [name, o] of Object.entries(this.template.Outputs ?? {})) {
      if (o?.Condition !== undefined && this.resolver.condition(String(o.Condition)) !== true) continue;
      const v = this.resolver.value(o?.Value, `${this.prefix}Outputs.${name}`);
      if (v !== undefined) out[name] = v;
    }
    this.#computingOutputs = false;
    return (this.#outputs = out);
  }

  /** The nested stack of resource `id`, read from its template file; undefined when it is not a stack or not found. */
  child(id: string): StackReader | undefined {
    if (this.#children.has(id)) return this.#children.get(id) ?? undefined;
    this.#children.set(id, null);
    const res = this.template.Resources?.[id];
    if (res?.Type !== STACK) return undefined;
    const where = `${this.prefix}${id}`;
    if (res.Condition !== undefined && this.resolver.condition(String(res.Condition), `${where}.Condition`) !== true) {
      this.loader.notes.push(`${where}: nested stack not created (its condition ${res.Condition} is not true)`);
      return undefined;
    }
    const props = (res.Properties ?? {}) as Json;
    const url = this.resolver.value(props.TemplateURL, `${where}.Properties.TemplateURL`);
    const file = this.#findTemplate(id, typeof url === 'string' ? url : undefined, (res as Json).Metadata);
    if (!file) {
      this.loader.notes.push(`${where}: nested stack ${typeof url === 'string' ? url : '(TemplateURL unknown)'} not found beside ${this.file} — pass --template-url ${typeof url === 'string' ? url : where}=FILE`);
      return undefined;
    }
    const params = this.resolver.value(props.Parameters ?? {}, `${where}.Properties.Parameters`) as Record<string, unknown>;
    const known = Object.fromEntries(Object.entries(params ?? {}).filter(([, v]) => v !== undefined));
    const child = new StackReader(this.loader, file, parseTemplate(readText(file), file), `${where}.`, known, `${where}.Properties.Parameters`);
    this.#children.set(id, child);
    return child;
  }

  /**
   * A nested stack's template file: mapped on the command line (by URL or by the stack's id path), named by CDK's
   * asset metadata, or the URL's path found beside the parent (an S3 URL's key ends with the path the templates have
   * in the repository: `…/infrastructure/load-balancers.yaml`).
   */
  #findTemplate(id: string, url: string | undefined, metadata: Json): string | undefined {
    const mapped = (url !== undefined ? this.loader.templateUrls[url] : undefined) ?? this.loader.templateUrls[`${this.prefix}${id}`];
    if (mapped) return mapped;
    const dir = path.dirname(this.file);
    const asset = metadata?.['aws:asset:path'];
    if (typeof asset === 'string' && fs.existsSync(path.join(dir, asset))) return path.join(dir, asset);
    if (!url) return undefined;
    const parts = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i, '').split(/[/\\]/).filter((p) => p && p !== '.');
    for (let i = 0; i < parts.length; i++) {
      const candidate = path.join(dir, ...parts.slice(i));
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    }
    return undefined;
  }

  /** This stack's load-balancer resources, properties resolved, under their prefixed ids. */
  collect(): void {
    for (const [id, res] of Object.entries(this.template.Resources ?? {})) {
      if (!isLoadBalancerPart(res?.Type)) continue;
      const key = `${this.prefix}${id}`;
      if (res!.Condition !== undefined) {
        const on = this.resolver.condition(String(res!.Condition), `${key}.Condition`);
        if (on !== true) {
          this.loader.notes.push(`${key}: not created (its condition ${res!.Condition} is ${on === false ? 'false' : 'unknown'})`);
          continue;
        }
      }
      this.loader.resources[key] = { Type: res!.Type!, Properties: this.resolver.value(res!.Properties ?? {}, `${key}.Properties`) ?? {} };
    }
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new GatewayConfigError(`${file}: ${(e as Error).message}`);
  }
}

/** The templates of a `cdk synth` output folder (its manifest's CloudFormation stacks), or the file itself. */
function rootTemplates(file: string): string[] {
  if (!fs.existsSync(file) || !fs.statSync(file).isDirectory()) return [file];
  const manifest = path.join(file, 'manifest.json');
  if (!fs.existsSync(manifest)) throw new GatewayConfigError(`${file}: a folder, but not cdk synth's output (no manifest.json)`);
  const artifacts = (JSON.parse(readText(manifest)).artifacts ?? {}) as Record<string, { type?: string; properties?: { templateFile?: string } }>;
  const stacks = Object.values(artifacts)
    .filter((a) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile)
    .map((a) => path.join(file, a.properties!.templateFile!));
  if (stacks.length === 0) throw new GatewayConfigError(`${manifest}: no CloudFormation stacks`);
  return stacks;
}

/**
 * The load balancer of every template given, nested stacks followed, as one template for fromCloudFormation.
 * With one template and no nested stack, ids stay as written.
 */
export function loadStacks(s: StackSources): { template: Template; source: string } {
  const loader = new Loader(s.templateUrls ?? {});
  const roots = s.files.flatMap(rootTemplates);
  const names = roots.map((f) => path.basename(f).replace(/(\.nested)?\.template\.json$|\.(ya?ml|json|template)$/i, '').replace(/[^A-Za-z0-9-]/g, '-'));
  roots.forEach((file, i) => {
    const prefix = roots.length > 1 ? `${names[i]}.` : '';
    new StackReader(loader, file, parseTemplate(readText(file), file), prefix, s.parameters ?? {});
  });
  for (const stack of loader.stacks) stack.collect();
  const ids = Object.keys(loader.resources);
  const unresolved: Unresolved[] = loader.stacks.flatMap((st) => st.resolver.unresolved).filter((u) => ids.some((id) => u.where.startsWith(`${id}.`)));
  const lbs = ids.filter((id) => loader.resources[id]!.Type === LB);
  if (ids.length === 0) throw new GatewayConfigError(`${s.files.join(', ')}: no load-balancer resources (AWS::ElasticLoadBalancingV2::*) in ${loader.stacks.length} template(s)`);
  return {
    template: {
      Resources: loader.resources,
      Metadata: { 'Receipt::Unresolved': unresolved, 'Receipt::Notes': [...loader.notes, ...(lbs.length === 0 ? ['no load balancer resource: ALB’s defaults apply'] : [])] },
    },
    source: s.files.join(', '),
  };
}
