import type { ConfigIssue } from './config-error';
import { show } from './config-error';
import {
  absolutePathFormat,
  booleanFormat,
  type ConfigFormat,
  durationFormat,
  httpUrlFormat,
  listenAddressFormat,
  listOf,
  mapOf,
  oneOf,
  stringFormat,
} from './config-format';
import type { BuildContext, ConfigDefinition, ConfigSource } from './config-loader';
import { loadConfig } from './config-loader';
import { type ConfigValues, key, optionalKey } from './config-schema';
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
  };
}

/** `storage`: one driver (filesystem or inmemory) and delete permission. */
export function storageSchema() {
  return {
    filesystem: {
      rootdirectory: key({
        doc: 'Directory holding all stored data (filesystem driver).',
        format: absolutePathFormat,
        default: '/var/lib/registry',
      }),
    },
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
    host: optionalKey({
      doc: 'Externally reachable URL of this server (for absolute links).',
      format: httpUrlFormat,
    }),
    draintimeout: key({
      doc: 'On shutdown, how long requests in flight may finish before connections are closed.',
      format: durationFormat,
      default: '10s',
    }),
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
      minimumtls: key({
        doc: 'Oldest TLS version accepted.',
        format: oneOf('tls-version', ['tls1.2', 'tls1.3']),
        default: 'tls1.2',
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

/** The registry `config.yml` schema used by the content cache. */
export function registryConfigSchema() {
  return {
    version: versionKey(),
    log: logSchema(),
    storage: storageSchema(),
    http: httpSchema(),
    middleware: {
      registry: key({
        doc: 'Registry middlewares: a list of {name, options}. "downstream" makes this server a content cache.',
        format: registryMiddlewareListFormat,
        default: [],
      }),
    },
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

export interface StorageConfig {
  driver: StorageDriverConfig;
  deleteEnabled: boolean;
}

export interface TlsCommonConfig {
  clientCas: string[];
  minimumVersion: 'TLSv1.2' | 'TLSv1.3';
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

export interface HttpConfig {
  listen: ListenAddress;
  host: URL | undefined;
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
  return { driver, deleteEnabled: values.delete.enabled };
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
  const common: TlsCommonConfig = {
    clientCas: tls.clientcas,
    minimumVersion: tls.minimumtls === 'tls1.3' ? 'TLSv1.3' : 'TLSv1.2',
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
  return {
    listen,
    host: values.host,
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
    return {
      version: values.version,
      log: buildLogConfig(values.log),
      storage,
      http,
      middleware: { registry: middlewares },
      downstream,
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
