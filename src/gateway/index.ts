// The gateway as a library: an ALB-faithful load balancer in front of any HTTP servers. It imports only src/http/.
export { Gateway } from './gateway.ts';
export { AccessLog, parseAccessLine, FIELD } from './access-log.ts';
export { GatewayConfigError, GatewayConfigSchema, loadGatewayConfigFile, validateGatewayConfig, defaultGatewayConfig } from './config.ts';
export type { Action, Condition, GatewayConfig, ListenerConfig, TargetGroupSpec } from './config.ts';
export { FAILURES } from './failures.ts';
export { formatTemplate, fromCloudFormation, parseTemplate, terraformToCloudFormation, toCloudFormation } from './aws/index.ts';
export type { ImportOptions, Imported } from './aws/index.ts';
export { loadOrCreateCertificate } from './tls.ts';
