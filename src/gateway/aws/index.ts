/**
 * The user's own infrastructure as the gateway's configuration, and back (docs/own-app.md):
 *
 *  - template.ts        a CloudFormation template's text and its intrinsic functions;
 *  - cloudformation.ts  its ELBv2 resources → the gateway's configuration, every setting judged by catalogue.ts;
 *  - terraform.ts       a Terraform plan (`terraform show -json`) → the same CloudFormation shape;
 *  - stacks.ts          several templates and nested stacks read as one load balancer;
 *  - export.ts          the gateway's configuration → a CloudFormation template.
 */
export { fromCloudFormation, type ImportOptions, type Imported } from './cloudformation.ts';
export { formatTemplate, toCloudFormation } from './export.ts';
export { parseTemplate } from './template.ts';
export { terraformToCloudFormation } from './terraform.ts';
export { loadStacks, type StackSources } from './stacks.ts';
