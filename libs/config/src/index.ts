export { ConfigError, ConfigValueError, IssueCollector } from './config-error';
export type { ConfigIssue } from './config-error';
export {
  absolutePathFormat,
  booleanFormat,
  byteSizeFormat,
  cidrFormat,
  durationFormat,
  httpUrlFormat,
  integerFormat,
  listenAddressFormat,
  listOf,
  mapOf,
  oneOf,
  stringFormat,
} from './config-format';
export type { ConfigFormat } from './config-format';
export {
  ConfigKey,
  envNameOf,
  IgnoredKey,
  ignored,
  key,
  optionalKey,
  RefusedKey,
  refused,
  schemaKeys,
} from './config-schema';
export type { ConfigSchemaNode, ConfigSchemaTree, ConfigValues } from './config-schema';
export { describeConfig } from './config-description';
export { loadConfig } from './config-loader';
export { unknownKeyMessage } from './unknown-key-message';
export type { ConfigKeyDescription } from './config-description';
export type { BuildContext, ConfigDefinition, ConfigSource } from './config-loader';
export { formatDuration, parseDuration } from './formats/duration';
export type { Duration } from './formats/duration';
export { parseByteSize } from './formats/byte-size';
export { parseHttpUrl } from './formats/url';
export { formatListenAddress, parseListenAddress } from './formats/listen-address';
export type { ListenAddress } from './formats/listen-address';
export {
  DEFAULT_MEMORY_SIZE,
  describeDownstreamOptions,
  MEMORY_TIER_MAX_BLOB_SIZE,
  parseDownstreamOptions,
  registryMiddlewareListFormat,
} from './downstream-middleware';
export { renderConfigReference, renderDownstreamReference } from './config-reference';
export type {
  DownstreamOptions,
  RegistryMiddleware,
  Upstream,
  UpstreamPolicy,
} from './downstream-middleware';
export {
  loadRegistryConfig,
  registryConfigDefinition,
  registryConfigSchema,
  versionKey,
} from './registry-config';
export type { RegistryConfig } from './registry-config';
export { buildHttpConfig, httpSchema } from './http-section';
export type {
  ClientAuthMode,
  DebugServerConfig,
  HttpConfig,
  TlsCommonConfig,
  TlsConfig,
} from './http-section';
export { buildLogConfig, logSchema } from './log-section';
export type { LogConfig } from './log-section';
export { buildStorageConfig, storageSchema } from './storage-section';
export type { StorageConfig, StorageDriverConfig, UploadPurgingConfig } from './storage-section';
export type { StorageHealthConfig } from './registry-sections';
