/**
 * The catalogue as the Markdown table docs/own-app.md shows ("Every setting, and what the gateway does with it"), so
 * the page cannot drift from what the importer does: a test compares the two, and `scripts/catalogue-table.ts
 * --write` rewrites the page's table.
 */
import { LB, LB_ATTRIBUTES, LISTENER, LISTENER_ATTRIBUTES, LISTENER_CERTIFICATE, OTHER_TYPES, PROPERTIES, RULE, TG, TG_ATTRIBUTES, TRUST_STORE, TRUST_STORE_REVOCATION, type Handling } from './catalogue.ts';

const short = (type: string) => type.replace('AWS::ElasticLoadBalancingV2::', '');

function cell(h: Handling): string {
  switch (h.kind) {
    case 'emulated':
      return 'emulated';
    case 'at':
      return `emulated at ${h.values.map((v) => `\`${v}\``).join(', ')}; named otherwise (${h.why})`;
    case 'aws':
      return `AWS-side only: ${h.why}`;
    case 'not':
      return `named: ${h.why}`;
  }
}

export const TABLE_START = '<!-- catalogue:start (made from src/gateway/aws/catalogue.ts) -->';
export const TABLE_END = '<!-- catalogue:end -->';

export function catalogueTable(): string {
  const rows: string[] = ['| resource | setting | what the gateway does |', '|---|---|---|'];
  const props = (type: string) => {
    for (const [name, h] of Object.entries(PROPERTIES[type]!)) rows.push(`| ${short(type)} | \`${name}\` | ${cell(h)} |`);
  };
  const attrs = (type: string, prop: string, table: Record<string, Handling>) => {
    for (const [key, h] of Object.entries(table)) rows.push(`| ${short(type)} | \`${prop}\` \`${key}\` | ${cell(h)} |`);
  };
  for (const type of [LB, LISTENER, LISTENER_CERTIFICATE, TRUST_STORE, TRUST_STORE_REVOCATION, RULE, TG]) props(type);
  attrs(LB, 'LoadBalancerAttributes', LB_ATTRIBUTES);
  attrs(TG, 'TargetGroupAttributes', TG_ATTRIBUTES);
  attrs(LISTENER, 'ListenerAttributes', LISTENER_ATTRIBUTES);
  for (const [type, why] of Object.entries(OTHER_TYPES)) rows.push(`| ${type.replace(/^AWS::/, '')} | (the whole resource) | named: ${why} |`);
  rows.push('| any | a property, attribute or resource type not listed here | named: a setting this gateway does not know |');
  return [TABLE_START, ...rows, TABLE_END].join('\n');
}
