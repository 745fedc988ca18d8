import type { ConfigIssue } from './config-error';
import { show } from './config-error';
import {
  absolutePathFormat,
  booleanFormat,
  type ConfigFormat,
  durationFormat,
  httpUrlFormat,
  integerFormat,
  listenAddressFormat,
  listOf,
  mapOf,
  oneOf,
  stringFormat,
} from './config-format';
import type { BuildContext, ConfigDefinition, ConfigSource } from './config-loader';
import { loadConfig } from './config-loader';
import { type ConfigValues, ignored, key, optionalKey, refused } from './config-schema';
import { cipherSuitesFormat } from './formats/cipher-suites';
import {
  buildStorageHealth,
  healthSchema,
  otherRegistrySections,
  type StorageHealthConfig,
} from './registry-sections';
import type { DownstreamOptions, RegistryMiddleware } from './downstream-middleware';
import { registryMiddlewareListFormat } from './downstream-middleware';
import type { Duration } from './formats/duration';
import { type ListenAddress, parseListenAddress } from './formats/listen-address';

const scalarFormat: ConfigFormat<string> = {
  name: 'scalar',
  expected: 'a string, number or boolean',
  parse(value) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    throw new Error(`${show(value)} is not a string, number or boolean`);
  },
};

const hostNameFormat: ConfigFormat<string> = {
  name: 'host-name',
  expected: 'a DNS host name',
  parse(value) {
    if (
      typeof value !== 'string' ||
      !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(
        value,
      )
    ) {
      throw new Error(`${show(value)} is not a DNS host name`);
    }
    return value.toLowerCase();
  },
};

const emailFormat: ConfigFormat<string> = {
  name: 'email',
  expected: 'an e-mail address',
  parse(value) {
    if (typeof value !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(value))
      throw new Error(`${show(value)} is not an e-mail address`);
    return value;
  },
};

const versionFormat: ConfigFormat<'0.1'> = {
  name: 'registry-config-version',
  expected: '0.1',
  parse(value) {
    if (value === '0.1' || value === 0.1) return '0.1';
    throw new Error(`${show(value)} is not a supported configuration version (use 0.1)`);
  },
};

/** A URL path: starts with "/"; a trailing "/" is dropped (except for "/" itself). */
const pathPrefixFormat: ConfigFormat<string> = {
  name: 'url-path',
  expected: 'a URL path starting with "/"',
  parse(value) {
    if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$/.test(value))
      throw new Error(`${show(value)} is not a URL path starting with "/"`);
    const trimmed = value.replace(/\/+$/, '');
    return trimmed === '' ? '/' : trimmed;
  },
};

/** A present-but-empty driver section (`inmemory:`) means the driver is selected. */
const driverSectionFormat: ConfigFormat<boolean> = {
  name: 'driver-section',
  expected: 'an empty section (the driver takes no parameters)',
  parse(value) {
    if (value === false) return false;
    if (
      value === null ||
      value === true ||
      (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
    ) {
      return true;
    }
    throw new Error(`${show(value)}: this driver takes no parameters (write "inmemory:" alone)`);
  },
  fromText: (text) =>
    /^(true|false)$/i.test(text.trim()) ? text.trim().toLowerCase() === 'true' : text,
};

/** `log`: the registry's logging section. */
export function logSchema() {
  return {
    level: key({
      doc: 'Least severe level logged.',
      format: oneOf('log-level', ['error', 'warn', 'info', 'debug']),
      default: 'info',
    }),
    formatter: key({
      doc: 'Log line format: text (logfmt key=value), json, or logstash (json with @timestamp).',
      format: oneOf('log-formatter', ['text', 'json', 'logstash']),
      default: 'text',
    }),
    fields: key({
      doc: 'Static fields added to every log line.',
      format: mapOf('log-fields', scalarFormat),
      default: {},
    }),
    accesslog: {
      disabled: key({
        doc: 'Turns the one-line-per-request access log off.',
        format: booleanFormat,
        default: false,
      }),
    },
    hooks: ignored(
      'log hooks (mail on panic) are not supported: collect the log stream (stderr) instead',
    ),
  };
}

const OTHER_DRIVERS =
  'blobs are stored on local disk: storage driver filesystem (or inmemory, for tests)';

/** `storage.maintenance`: upload purging and read-only mode. */
function maintenanceSchema() {
  return {
    uploadpurging: {
      enabled: key({
        doc: 'Periodically removes abandoned temp files (of uploads, or of fills) older than age.',
        format: booleanFormat,
        default: true,
      }),
      age: key({
        doc: 'A temp file not written for this long is abandoned.',
        format: durationFormat,
        default: '168h',
      }),
      interval: key({
        doc: 'Time between two purges.',
        format: durationFormat,
        default: '24h',
      }),
      dryrun: key({
        doc: 'Only logs what a purge would remove.',
        format: booleanFormat,
        default: false,
      }),
    },
    readonly: {
      enabled: key({
        doc: 'Read-only mode: nothing is written to storage (no purge, no expiry).',
        format: booleanFormat,
        default: false,
      }),
    },
  };
}

/** `storage`: one driver (filesystem or inmemory), delete permission, cache and maintenance. */
export function storageSchema() {
  return {
    filesystem: {
      rootdirectory: key({
        doc: 'Directory holding all stored data (filesystem driver).',
        format: absolutePathFormat,
        default: '/var/lib/registry',
      }),
      maxthreads: ignored(
        "file operations run on Node's thread pool, sized by UV_THREADPOOL_SIZE in the environment",
      ),
    },
    s3: refused(OTHER_DRIVERS),
    azure: refused(OTHER_DRIVERS),
    gcs: refused(OTHER_DRIVERS),
    swift: refused(OTHER_DRIVERS),
    oss: refused(OTHER_DRIVERS),
    tag: ignored('tags are kept by DTR in its database: there is no tag walk to limit'),
    redirect: ignored(
      'local disk storage has no redirects to disable: blobs are served by this server',
    ),
    cache: {
      blobdescriptor: key({
        doc: "Accepted (inmemory or redis): blob descriptors always come from this server's own index (a content cache's in memory, DTR's database); Redis is not used.",
        format: oneOf('blob-descriptor-cache', ['inmemory', 'redis']),
        default: 'inmemory',
      }),
      blobdescriptorsize: key({
        doc: 'Accepted: the index holds every stored blob.',
        format: integerFormat('blob-descriptor-cache-size', 0, 2 ** 31),
        default: 10000,
      }),
      layerinfo: key({
        doc: 'Deprecated name of blobdescriptor; accepted.',
        format: oneOf('layer-info-cache', ['inmemory', 'redis']),
        default: 'inmemory',
      }),
    },
    maintenance: maintenanceSchema(),
    inmemory: key({
      doc: 'Selects the in-memory driver (tests only: data is lost on exit). Written as an empty section, "inmemory:".',
      format: driverSectionFormat,
      default: false,
    }),
    delete: {
      enabled: key({
        doc: 'Allows deleting blobs; required when downstream blobttl is set.',
        format: booleanFormat,
        default: false,
      }),
    },
  };
}

/** `http`: listen address, public URL, shutdown, headers and TLS (files or Let's Encrypt). */
export function httpSchema() {
  const optionalPath = (doc: string) => optionalKey({ doc, format: absolutePathFormat });
  return {
    addr: key({
      doc: 'Listen address: ":5000", "127.0.0.1:5000", "[::1]:5000", or a socket path with net: unix.',
      format: listenAddressFormat,
      default: ':5000',
    }),
    net: key({
      doc: 'Network of addr: tcp or unix.',
      format: oneOf('http-net', ['tcp', 'unix']),
      default: 'tcp',
    }),
    prefix: key({
      doc: 'Path the registry API is served under when not at the root ("/my/registry/" serves /my/registry/v2/…).',
      format: pathPrefixFormat,
      default: '/',
    }),
    host: optionalKey({
      doc: 'Externally reachable URL of this server, for absolute links (DTR writes none: its Location headers are paths; a content cache writes none either: it is logged at start).',
      format: httpUrlFormat,
    }),
    secret: ignored('no upload state is kept by clients: upload sessions are held by the server'),
    relativeurls: ignored('Location headers are written as paths, which every client resolves'),
    draintimeout: key({
      doc: 'On shutdown, how long requests in flight may finish before connections are closed.',
      format: durationFormat,
      default: '10s',
    }),
    debug: {
      addr: optionalKey({
        doc: 'Listen address of the debug server (/debug/health, and metrics with prometheus); unset: no debug server, and /metrics is served on addr.',
        format: listenAddressFormat,
      }),
      prometheus: {
        enabled: key({
          doc: 'Serves Prometheus metrics on the debug server (at path) instead of /metrics on addr.',
          format: booleanFormat,
          default: false,
        }),
        path: key({
          doc: 'Path of the metrics on the debug server.',
          format: pathPrefixFormat,
          default: '/metrics',
        }),
      },
    },
    http2: ignored('HTTP/1.1 is served (HTTP/2 is not offered)'),
    h2c: ignored('HTTP/1.1 is served (HTTP/2 over cleartext is not offered)'),
    headers: key({
      doc: 'Headers added to every response: a map of names to lists of values.',
      format: mapOf('http-headers', listOf(stringFormat)),
      default: { 'X-Content-Type-Options': ['nosniff'] },
    }),
    tls: {
      certificate: optionalPath('PEM certificate (chain) served for HTTPS; set together with key.'),
      key: optionalPath('PEM private key of certificate.'),
      clientcas: key({
        doc: 'PEM CA certificates whose client certificates are required (mutual TLS).',
        format: listOf(absolutePathFormat),
        default: [],
      }),
      clientauth: key({
        doc: 'With clientcas: require-and-verify-client-cert; verify-client-cert-if-given; require-any-client-cert (any certificate, unverified); request-client-cert (asked, not required).',
        format: oneOf('tls-client-auth', [
          'require-and-verify-client-cert',
          'verify-client-cert-if-given',
          'require-any-client-cert',
          'request-client-cert',
        ]),
        default: 'require-and-verify-client-cert',
      }),
      minimumtls: key({
        doc: "Oldest TLS version accepted (tls1.0 and tls1.1 only where the system's OpenSSL policy still allows them).",
        format: oneOf('tls-version', ['tls1.0', 'tls1.1', 'tls1.2', 'tls1.3']),
        default: 'tls1.2',
      }),
      ciphersuites: key({
        doc: "Cipher suites offered for TLS 1.2 and older, in the registry's (Go) names; TLS 1.3 suites are always offered unless some are listed. Empty: Node's defaults.",
        format: cipherSuitesFormat,
        default: [],
      }),
      letsencrypt: {
        cachefile: optionalPath(
          "File caching Let's Encrypt state; setting it turns Let's Encrypt on.",
        ),
        email: optionalKey({ doc: "Account e-mail given to Let's Encrypt.", format: emailFormat }),
        hosts: key({
          doc: 'Host names certificates may be obtained for (required with cachefile).',
          format: listOf(hostNameFormat),
          default: [],
        }),
        directoryurl: key({
          doc: 'ACME directory URL (another ACME server, e.g. a local test CA).',
          format: httpUrlFormat,
          default: 'https://acme-v02.api.letsencrypt.org/directory',
        }),
      },
    },
  };
}

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

export interface LogConfig {
  level: 'error' | 'warn' | 'info' | 'debug';
  formatter: 'text' | 'json' | 'logstash';
  fields: Record<string, string>;
  accessLogDisabled: boolean;
}

export type StorageDriverConfig =
  { kind: 'filesystem'; rootDirectory: string } | { kind: 'inmemory' };

/** `storage.maintenance.uploadpurging`. */
export interface UploadPurgingConfig {
  enabled: boolean;
  age: Duration;
  interval: Duration;
  dryRun: boolean;
}

export interface StorageConfig {
  driver: StorageDriverConfig;
  deleteEnabled: boolean;
  uploadPurging: UploadPurgingConfig;
  /** `storage.maintenance.readonly.enabled`. */
  readOnly: boolean;
}

/** `http.tls.clientauth`: how client certificates are asked for and checked. */
export type ClientAuthMode =
  | 'require-and-verify-client-cert'
  | 'verify-client-cert-if-given'
  | 'require-any-client-cert'
  | 'request-client-cert';

export interface TlsCommonConfig {
  clientCas: string[];
  clientAuth: ClientAuthMode;
  minimumVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL names; empty: Node's defaults. */
  cipherSuites: string[];
}

export type TlsConfig =
  | ({ kind: 'files'; certificate: string; key: string } & TlsCommonConfig)
  | ({
      kind: 'letsencrypt';
      cacheFile: string;
      email: string | undefined;
      hosts: string[];
      directoryUrl: URL;
    } & TlsCommonConfig);

/** `http.debug`: a second listener for health and (with prometheus) metrics. */
export interface DebugServerConfig {
  listen: ListenAddress;
  /** The metrics path, when `prometheus.enabled`. */
  metricsPath: string | undefined;
}

export interface HttpConfig {
  listen: ListenAddress;
  /** `http.prefix` without its trailing slash; `/` when served at the root. */
  prefix: string;
  host: URL | undefined;
  debug: DebugServerConfig | undefined;
  drainTimeout: Duration;
  headers: Record<string, string[]>;
  tls: TlsConfig | undefined;
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

type LogValues = ConfigValues<ReturnType<typeof logSchema>>;
type StorageValues = ConfigValues<ReturnType<typeof storageSchema>>;
type HttpValues = ConfigValues<ReturnType<typeof httpSchema>>;

export function buildLogConfig(values: LogValues): LogConfig {
  return {
    level: values.level,
    formatter: values.formatter,
    fields: values.fields,
    accessLogDisabled: values.accesslog.disabled,
  };
}

/** Builds `storage`; `prefix` is where the section sits (`storage`). */
export function buildStorageConfig(
  values: StorageValues,
  context: BuildContext,
  prefix = 'storage',
): StorageConfig {
  if (values.inmemory && context.isSet(`${prefix}.filesystem.rootdirectory`)) {
    context.issues.add(
      prefix,
      'configure exactly one storage driver: filesystem or inmemory, not both',
    );
  }
  const driver: StorageDriverConfig = values.inmemory
    ? { kind: 'inmemory' }
    : { kind: 'filesystem', rootDirectory: values.filesystem.rootdirectory };
  const purging = values.maintenance.uploadpurging;
  return {
    driver,
    deleteEnabled: values.delete.enabled,
    uploadPurging: {
      enabled: purging.enabled,
      age: purging.age,
      interval: purging.interval,
      dryRun: purging.dryrun,
    },
    readOnly: values.maintenance.readonly.enabled,
  };
}

/** Builds `http`, checking that TLS settings come in complete, non-conflicting sets. */
export function buildHttpConfig(
  values: HttpValues,
  context: BuildContext,
  prefix = 'http',
): HttpConfig {
  const { issues } = context;
  let listen: ListenAddress = { kind: 'tcp', host: undefined, port: 5000 };
  try {
    listen = parseListenAddress(values.addr, values.net);
  } catch (error) {
    issues.add(`${prefix}.addr`, `${(error as Error).message} (http.net is ${values.net})`);
  }
  const tls = values.tls;
  const versions = {
    'tls1.0': 'TLSv1',
    'tls1.1': 'TLSv1.1',
    'tls1.2': 'TLSv1.2',
    'tls1.3': 'TLSv1.3',
  } as const;
  const common: TlsCommonConfig = {
    clientCas: tls.clientcas,
    clientAuth: tls.clientauth,
    minimumVersion: versions[tls.minimumtls],
    cipherSuites: tls.ciphersuites,
  };
  const letsencrypt = tls.letsencrypt;
  let tlsConfig: TlsConfig | undefined;
  if ((tls.certificate === undefined) !== (tls.key === undefined)) {
    const missing = tls.certificate === undefined ? 'certificate' : 'key';
    issues.add(
      `${prefix}.tls.${missing}`,
      'is required: http.tls.certificate and http.tls.key are set together',
    );
  } else if (tls.certificate !== undefined && tls.key !== undefined) {
    if (letsencrypt.cachefile !== undefined) {
      issues.add(
        `${prefix}.tls.letsencrypt`,
        "use either certificate and key or Let's Encrypt, not both",
      );
    }
    tlsConfig = { kind: 'files', certificate: tls.certificate, key: tls.key, ...common };
  }
  if (letsencrypt.cachefile !== undefined && tlsConfig === undefined) {
    if (letsencrypt.hosts.length === 0) {
      issues.add(
        `${prefix}.tls.letsencrypt.hosts`,
        "is required with Let's Encrypt (the host names to obtain certificates for)",
      );
    }
    tlsConfig = {
      kind: 'letsencrypt',
      cacheFile: letsencrypt.cachefile,
      email: letsencrypt.email,
      hosts: letsencrypt.hosts,
      directoryUrl: letsencrypt.directoryurl,
      ...common,
    };
  } else if (
    letsencrypt.cachefile === undefined &&
    (letsencrypt.hosts.length > 0 || letsencrypt.email !== undefined)
  ) {
    issues.add(
      `${prefix}.tls.letsencrypt.cachefile`,
      "is required to use Let's Encrypt (hosts or email are set)",
    );
  }
  if (tlsConfig === undefined && tls.clientcas.length > 0) {
    issues.add(
      `${prefix}.tls.clientcas`,
      "needs TLS: set http.tls.certificate and key (or Let's Encrypt)",
    );
  }
  let debug: DebugServerConfig | undefined;
  if (values.debug.addr !== undefined) {
    try {
      debug = {
        listen: parseListenAddress(values.debug.addr, 'tcp'),
        metricsPath: values.debug.prometheus.enabled ? values.debug.prometheus.path : undefined,
      };
    } catch (error) {
      issues.add(`${prefix}.debug.addr`, (error as Error).message);
    }
  } else if (values.debug.prometheus.enabled) {
    issues.add(
      `${prefix}.debug.addr`,
      'is required with http.debug.prometheus.enabled (metrics are served by the debug server)',
    );
  }
  return {
    listen,
    prefix: values.prefix,
    host: values.host,
    debug,
    drainTimeout: values.draintimeout,
    headers: values.headers,
    tls: tlsConfig,
  };
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
