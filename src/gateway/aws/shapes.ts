/**
 * The shapes the importer reads: a CloudFormation template and the properties of the ELBv2 resources, as AWS's
 * CloudFormation reference names them. A Terraform plan is turned into this same shape (terraform.ts), so one
 * reader (cloudformation.ts) maps both to the gateway. Values are as found after the intrinsic functions are
 * resolved; a template is user input, so every field is optional and checked where it is read.
 */

/** A template as parsed, before it is known to be well formed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON/YAML is walked by property name
export type Json = any;

export interface Template {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Parameters?: Record<string, { Type?: string; Default?: unknown; NoEcho?: boolean | string; Description?: string }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, Json>;
  Resources?: Record<string, { Type?: string; Condition?: string; Properties?: Json }>;
  Outputs?: Record<string, { Value?: Json; Condition?: string; Export?: { Name?: Json } }>;
  /**
   * Set by terraform.ts (plan settings with no CloudFormation form, named like any other) and by stacks.ts (values
   * the templates read together could not resolve, and what happened to nested stacks).
   */
  Metadata?: { 'Receipt::Unmapped'?: string[]; 'Receipt::Unresolved'?: Array<{ where: string; what: string; hint?: string }>; 'Receipt::Notes'?: string[] };
}

export interface KeyValue {
  Key?: string;
  Value?: unknown;
}

export interface LoadBalancerProps {
  Type?: string;
  Name?: string;
  LoadBalancerAttributes?: KeyValue[];
  [other: string]: unknown;
}

export interface ListenerProps {
  LoadBalancerArn?: string;
  Port?: number | string;
  Protocol?: string;
  Certificates?: Array<{ CertificateArn?: string }>;
  SslPolicy?: string;
  DefaultActions?: ActionProps[];
  MutualAuthentication?: { Mode?: string; TrustStoreArn?: string; IgnoreClientCertificateExpiry?: boolean };
  ListenerAttributes?: KeyValue[];
  [other: string]: unknown;
}

export interface ListenerCertificateProps {
  ListenerArn?: string;
  Certificates?: Array<{ CertificateArn?: string }>;
  [other: string]: unknown;
}

export interface ListenerRuleProps {
  ListenerArn?: string;
  Priority?: number | string;
  Conditions?: ConditionProps[];
  Actions?: ActionProps[];
  Transforms?: Array<{
    Type?: string;
    HostHeaderRewriteConfig?: { Rewrites?: Array<{ Regex?: string; Replace?: string }> };
    UrlRewriteConfig?: { Rewrites?: Array<{ Regex?: string; Replace?: string }> };
  }>;
  [other: string]: unknown;
}

export interface TargetGroupProps {
  Name?: string;
  Protocol?: string;
  ProtocolVersion?: string;
  TargetType?: string;
  Port?: number | string;
  HealthCheckEnabled?: boolean | string;
  HealthCheckPath?: string;
  HealthCheckIntervalSeconds?: number | string;
  HealthCheckTimeoutSeconds?: number | string;
  HealthyThresholdCount?: number | string;
  UnhealthyThresholdCount?: number | string;
  HealthCheckPort?: string | number;
  HealthCheckProtocol?: string;
  Matcher?: { HttpCode?: string; GrpcCode?: string };
  TargetGroupAttributes?: KeyValue[];
  [other: string]: unknown;
}

export interface ActionProps {
  Type?: string;
  Order?: number;
  TargetGroupArn?: string;
  ForwardConfig?: {
    TargetGroups?: Array<{ TargetGroupArn?: string; Weight?: number | string }>;
    TargetGroupStickinessConfig?: { Enabled?: boolean | string; DurationSeconds?: number | string };
  };
  RedirectConfig?: { Protocol?: string; Host?: string; Port?: string | number; Path?: string; Query?: string; StatusCode?: string };
  FixedResponseConfig?: { StatusCode?: string | number; ContentType?: string; MessageBody?: string };
  AuthenticateOidcConfig?: AuthenticateCommonProps & {
    Issuer?: string;
    AuthorizationEndpoint?: string;
    TokenEndpoint?: string;
    UserInfoEndpoint?: string;
    ClientId?: string;
    ClientSecret?: string;
    UseExistingClientSecret?: boolean | string;
  };
  AuthenticateCognitoConfig?: AuthenticateCommonProps & { UserPoolArn?: string; UserPoolClientId?: string; UserPoolDomain?: string };
  [other: string]: unknown;
}

/** What AuthenticateOidcConfig and AuthenticateCognitoConfig share (AWS's CloudFormation reference). */
export interface AuthenticateCommonProps {
  SessionCookieName?: string;
  SessionTimeout?: number | string;
  Scope?: string;
  OnUnauthenticatedRequest?: string;
  AuthenticationRequestExtraParams?: Record<string, string>;
}

interface ValuesConfig {
  Values?: string[];
  RegexValues?: string[];
}

export interface ConditionProps {
  Field?: string;
  Values?: string[];
  RegexValues?: string[];
  HostHeaderConfig?: ValuesConfig;
  PathPatternConfig?: ValuesConfig;
  HttpRequestMethodConfig?: { Values?: string[] };
  HttpHeaderConfig?: ValuesConfig & { HttpHeaderName?: string };
  QueryStringConfig?: { Values?: Array<{ Key?: string; Value?: string }> };
  SourceIpConfig?: { Values?: string[] };
}
