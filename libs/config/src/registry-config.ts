import type { ConfigIssue } from './config-error';
import { show } from './config-error';
import type { ConfigFormat } from './config-format';
import type { ConfigDefinition, ConfigSource } from './config-loader';
import { loadConfig } from './config-loader';
import { ignored, key } from './config-schema';
import type { DownstreamOptions, RegistryMiddleware } from './downstream-middleware';
import { registryMiddlewareListFormat } from './downstream-middleware';
import { buildHttpConfig, type HttpConfig, httpSchema } from './http-section';
import { buildLogConfig, type LogConfig, logSchema } from './log-section';
import {
  buildStorageHealth,
  healthSchema,
  otherRegistrySections,
  type StorageHealthConfig,
} from './registry-sections';
import { buildStorageConfig, type StorageConfig, storageSchema } from './storage-section';

const versionFormat: ConfigFormat<'0.1'> = {
  name: 'registry-config-version',
  expected: '0.1',
  parse(value) {
    if (value === '0.1' || value === 0.1) return '0.1';
    throw new Error(`${show(value)} is not a supported configuration version (use 0.1)`);
  },
};

/** `version`: the registry configuration format's version, shared by every app that reads it. */
export function versionKey() {
  return key({
    doc: 'Configuration format version; 0.1 is the only one.',
    format: versionFormat,
    default: '0.1',
  });
}

/** The registry `config.yml` schema used by the content cache: every key of the format. */
export function registryConfigSchema() {
  return {
    version: versionKey(),
    log: logSchema(),
    storage: storageSchema(),
    http: httpSchema(),
    health: healthSchema(),
    middleware: {
      registry: key({
        doc: 'Registry middlewares: a list of {name, options}. "downstream" makes this server a content cache.',
        format: registryMiddlewareListFormat,
        default: [],
      }),
      repository: ignored('repository middlewares run in DTR, which serves repositories'),
      storage: ignored(
        'storage middlewares (cloudfront, redirect) redirect to where a storage driver keeps blobs: a content cache serves its blobs itself',
      ),
    },
    ...otherRegistrySections(),
  };
}

/** The typed registry configuration. */
export interface RegistryConfig {
  version: '0.1';
  log: LogConfig;
  storage: StorageConfig;
  http: HttpConfig;
  middleware: { registry: RegistryMiddleware[] };
  /** The downstream middleware's options, if configured. */
  downstream: DownstreamOptions | undefined;
  health: { storageDriver: StorageHealthConfig };
  /** Start-up warnings: keys accepted with no effect, deprecated spellings. */
  warnings: readonly ConfigIssue[];
}

/** The content cache's configuration definition: registry `config.yml`, `REGISTRY_*` overrides. */
export const registryConfigDefinition: ConfigDefinition<
  ReturnType<typeof registryConfigSchema>,
  RegistryConfig
> = {
  envPrefix: 'REGISTRY',
  schema: registryConfigSchema(),
  build(values, context) {
    const storage = buildStorageConfig(values.storage, context);
    const http = buildHttpConfig(values.http, context);
    const middlewares = values.middleware.registry;
    const downstreamIndex = middlewares.findIndex((middleware) => middleware.name === 'downstream');
    const downstream = middlewares[downstreamIndex]?.options;
    if (downstream?.blobTtl && !storage.deleteEnabled) {
      context.issues.add(
        `middleware.registry[${downstreamIndex}].options.blobttl`,
        `${show(downstream.blobTtl.text)} needs storage.delete.enabled: true (expired blobs are deleted)`,
      );
    }
    const log = buildLogConfig(values.log);
    if (values.loglevel !== undefined) {
      context.warn('loglevel', 'deprecated: use log.level');
      if (!context.isSet('log.level')) log.level = values.loglevel;
    }
    return {
      version: values.version,
      log,
      storage,
      http,
      middleware: { registry: middlewares },
      downstream,
      health: { storageDriver: buildStorageHealth(values.health) },
      warnings: context.warnings,
    };
  },
};

/**
 * Loads a registry `config.yml` (with `REGISTRY_*` environment overrides).
 * @throws ConfigError listing every problem.
 */
export function loadRegistryConfig(source: ConfigSource = {}): RegistryConfig {
  return loadConfig(registryConfigDefinition, source);
}

export type { ConfigIssue };
