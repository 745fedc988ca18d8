export { listen, logConfigWarnings, stopOnSignals } from './server-lifecycle';
export type { GracefulStopOptions } from './server-lifecycle';
export { healthCheckConfigPath, probeHealth, runHealthCheck } from './health-probe';
export type { HealthProbe } from './health-probe';
export { tlsPolicy } from './tls-server-options';
export type { TlsPolicy } from './tls-server-options';
