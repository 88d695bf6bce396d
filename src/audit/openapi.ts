/**
 * What the live audit needs from an OpenAPI 3.x document: its operations, each with the parameters and body it
 * takes, and one concrete value for each (the document's example first, then a value made from the schema).
 * Only references inside the document (`#/components/…`) are followed: the audit reads one file or one URL, and
 * says which references it could not follow instead of guessing.
 */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  enum?: unknown[];
  const?: unknown;
  example?: unknown;
  examples?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  nullable?: boolean;
  $ref?: string;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
  $ref?: string;
}

export interface Operation {
  /** `GET /orders/{id}` */
  id: string;
  method: string;
  path: string;
  parameters: Parameter[];
  body?: { mediaType: string; schema: Schema; example?: unknown; required: boolean };
  secured: boolean;
  statuses: string[];
}

export interface OpenApiDoc {
  openapi?: string;
  swagger?: string;
  paths?: Record<string, Record<string, unknown>>;
  security?: Array<Record<string, string[]>>;
  components?: Record<string, unknown>;
}

export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Follows `$ref`s inside the document (JSON Pointer, RFC 6901); an unresolvable one is noted and left as `{}`. */
export function makeResolver(doc: OpenApiDoc, unresolved: Set<string>) {
  const resolve = <T>(value: T, depth = 0): T => {
    const ref = (value as { $ref?: unknown } | undefined)?.$ref;
    if (typeof ref !== 'string' || depth > 20) return value;
    if (!ref.startsWith('#/')) {
      unresolved.add(ref);
      return {} as T;
    }
    let at: unknown = doc;
    for (const part of ref.slice(2).split('/')) at = (at as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (at === undefined) {
      unresolved.add(ref);
      return {} as T;
    }
    return resolve(at as T, depth + 1);
  };
  return resolve;
}

export function operationsOf(doc: OpenApiDoc, unresolved: Set<string>): Operation[] {
  if (!doc.openapi?.startsWith('3.')) throw new Error(`not an OpenAPI 3.x document (openapi: ${doc.openapi ?? doc.swagger ?? 'missing'})`);
  const resolve = makeResolver(doc, unresolved);
  const out: Operation[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths ?? {})) {
    const item = resolve(rawItem) as Record<string, unknown> & { parameters?: Parameter[] };
    for (const method of METHODS) {
      const op = resolve(item[method]) as
        | { parameters?: Parameter[]; requestBody?: unknown; security?: Array<Record<string, string[]>>; responses?: Record<string, unknown> }
        | undefined;
      if (!op) continue;
      const byKey = new Map<string, Parameter>();
      for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => resolve(p))) byKey.set(`${p.in}:${p.name}`, { ...p, ...(p.schema ? { schema: resolve(p.schema) } : {}) });
      const rb = resolve(op.requestBody) as { required?: boolean; content?: Record<string, { schema?: Schema; example?: unknown; examples?: Record<string, { value?: unknown }> }> } | undefined;
      const mediaType = rb?.content ? (Object.keys(rb.content).find((m) => /json/.test(m)) ?? Object.keys(rb.content)[0]) : undefined;
      const media = mediaType ? rb!.content![mediaType]! : undefined;
      const security = op.security ?? doc.security ?? [];
      out.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        parameters: [...byKey.values()],
        ...(mediaType && media
          ? { body: { mediaType, schema: deref(resolve, media.schema ?? {}), example: media.example ?? Object.values(media.examples ?? {})[0]?.value, required: rb?.required ?? false } }
          : {}),
        secured: security.some((s) => Object.keys(s).length > 0),
        statuses: Object.keys(op.responses ?? {}),
      });
    }
  }
  return out;
}

/** The schema with every nested `$ref` replaced (cycles cut at depth 8). */
function deref(resolve: <T>(v: T) => T, s: Schema, depth = 0): Schema {
  const r = resolve(s);
  if (depth > 8 || typeof r !== 'object' || r === null) return r;
  const out: Schema = { ...r };
  if (r.properties) out.properties = Object.fromEntries(Object.entries(r.properties).map(([k, v]) => [k, deref(resolve, v, depth + 1)]));
  if (r.items) out.items = deref(resolve, r.items, depth + 1);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) if (r[k]) out[k] = r[k]!.map((x) => deref(resolve, x, depth + 1));
  return out;
}

const typeOf = (s: Schema): string | undefined => {
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t) return t;
  if (s.properties) return 'object';
  if (s.items) return 'array';
  const alt = s.anyOf?.[0] ?? s.oneOf?.[0] ?? s.allOf?.[0];
  return alt ? typeOf(alt) : undefined;
};

/** One valid value for the schema: its example, default, const or first enum value, else the smallest that fits. */
export function sampleValue(s: Schema, depth = 0): unknown {
  if (s.example !== undefined) return s.example;
  if (s.examples?.length) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  if (s.allOf?.length) return Object.assign({}, ...s.allOf.map((x) => sampleValue(x, depth + 1)));
  if (s.anyOf?.length || s.oneOf?.length) return sampleValue((s.anyOf ?? s.oneOf)![0]!, depth + 1);
  switch (typeOf(s)) {
    case 'object': {
      if (depth > 6) return {};
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sampleValue(s.properties?.[k] ?? {}, depth + 1);
      return out;
    }
    case 'array':
      return depth > 6 ? [] : Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => sampleValue(s.items ?? {}, depth + 1));
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum + (s.exclusiveMinimum === true ? 1 : 0) : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : 1;
    case 'boolean':
      return true;
    case 'string':
      if (s.format === 'email') return 'audit@example.com';
      if (s.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (s.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (s.format === 'uri') return 'https://example.com/';
      return fitting(s, ['x'.repeat(Math.max(1, s.minLength ?? 1)), '1', '42', 'a1', 'example', '00000000-0000-4000-8000-000000000001', '2026-01-01']) ?? 'x';
    default:
      return 'x';
  }
}

/** A body whose first typed property carries a value of another type (a number's place holds a word). */
export function wrongTypeBody(s: Schema): { body: Record<string, unknown>; field: string } | undefined {
  const base = sampleValue(s);
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return undefined;
  const props = Object.entries(s.properties ?? {});
  // Numbers and booleans first: a string or an object in their place is a type error every parser sees (a number in a
  // string's place may be coerced by lenient servers).
  const order = ['integer', 'number', 'boolean', 'array', 'object', 'string'];
  const pick = props.filter(([, p]) => typeOf(p)).sort(([, a], [, b]) => order.indexOf(typeOf(a)!) - order.indexOf(typeOf(b)!))[0];
  if (!pick) return undefined;
  const [field, p] = pick;
  const wrong = typeOf(p) === 'string' ? { not: 'a string' } : typeOf(p) === 'array' || typeOf(p) === 'object' ? 'not-an-' + typeOf(p) : 'two';
  return { body: { ...(base as Record<string, unknown>), [field]: wrong }, field };
}

/** A body with the right types whose first constrained property breaks its constraint (a minimum, a length, an enum). */
export function ruleViolationBody(s: Schema): { body: Record<string, unknown>; field: string; rule: string } | undefined {
  const base = sampleValue(s);
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return undefined;
  for (const [field, p] of Object.entries(s.properties ?? {})) {
    const t = typeOf(p);
    let v: unknown;
    let rule = '';
    if ((t === 'integer' || t === 'number') && typeof p.minimum === 'number') [v, rule] = [p.minimum - 1, `minimum ${p.minimum}`];
    else if ((t === 'integer' || t === 'number') && typeof p.maximum === 'number') [v, rule] = [p.maximum + 1, `maximum ${p.maximum}`];
    else if (t === 'string' && typeof p.maxLength === 'number' && p.maxLength < 10_000) [v, rule] = ['x'.repeat(p.maxLength + 1), `maxLength ${p.maxLength}`];
    else if (t === 'string' && typeof p.minLength === 'number' && p.minLength > 0) [v, rule] = ['', `minLength ${p.minLength}`];
    else if (t === 'string' && p.enum?.length) [v, rule] = ['receipt-audit-not-in-enum', 'enum'];
    else continue;
    return { body: { ...(base as Record<string, unknown>), [field]: v }, field, rule };
  }
  return undefined;
}

/** The first candidate the string schema's pattern and lengths accept (no pattern: the first). */
export function fitting(s: Schema, candidates: string[]): string | undefined {
  let re: RegExp | undefined;
  try {
    re = s.pattern ? new RegExp(s.pattern, 'u') : undefined;
  } catch {
    re = undefined;
  }
  return candidates.find((c) => (!re || re.test(c)) && c.length >= (s.minLength ?? 0) && c.length <= (s.maxLength ?? Infinity));
}

/** An id that almost surely names nothing, in the form the parameter accepts (so the answer is a 404, not a 400). */
export function missingValue(s: Schema | undefined): string | number {
  const t = s ? typeOf(s) : undefined;
  if (t === 'integer' || t === 'number') return 2147480001;
  return (s && fitting(s, ['2147480001', 'receipt-audit-missing-4f1c', 'ffffffff-ffff-4fff-bfff-ffffffffffff', 'zz-missing'])) ?? 'receipt-audit-missing-4f1c';
}
