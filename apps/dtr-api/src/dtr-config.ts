import {
  absolutePathFormat,
  booleanFormat,
  buildHttpConfig,
  buildLogConfig,
  buildStorageConfig,
  type ConfigDefinition,
  type ConfigSource,
  type Duration,
  durationFormat,
  type HttpConfig,
  httpSchema,
  httpUrlFormat,
  key,
  listOf,
  loadConfig,
  type LogConfig,
  logSchema,
  optionalKey,
  type StorageConfig,
  storageSchema,
  stringFormat,
} from '@dtr-cache/config';

/** DTR's configuration schema: registry-style `log`, `storage`, `http`, plus DTR's own sections. */
export function dtrConfigSchema() {
  return {
    log: logSchema(),
    storage: storageSchema(),
    http: httpSchema(),
    database: {
      path: key({
        doc: 'SQLite database file holding accounts, repositories, manifests and tags (WAL mode).',
        format: absolutePathFormat,
        default: '/var/lib/dtr/dtr.sqlite',
      }),
    },
    auth: {
      service: key({
        doc: 'Service name of issued tokens (the "service" of the Bearer challenge).',
        format: stringFormat,
        default: 'dtr',
      }),
      issuer: key({
        doc: 'Issuer ("iss") of tokens and blob grants.',
        format: stringFormat,
        default: 'dtr',
      }),
      realm: optionalKey({
        doc: 'Absolute URL of the token endpoint given in challenges; default: <request origin>/auth/token.',
        format: httpUrlFormat,
      }),
      tokenttl: key({
        doc: 'Lifetime of registry bearer tokens.',
        format: durationFormat,
        default: '5m',
      }),
      keyfile: key({
        doc: 'PEM file of the Ed25519 key signing bearer tokens; generated on first start.',
        format: absolutePathFormat,
        default: '/var/lib/dtr/token-key.pem',
      }),
    },
    admin: {
      username: key({
        doc: 'Name of the first administrator, created at start-up if missing.',
        format: stringFormat,
        default: 'admin',
      }),
      password: optionalKey({
        doc: 'Password of the first administrator; required while no administrator exists.',
        format: stringFormat,
        sensitive: true,
      }),
    },
    registry: {
      createonpush: key({
        doc: 'A push to a repository that does not exist creates it (private) if the pusher may push to its namespace.',
        format: booleanFormat,
        default: true,
      }),
    },
    contentcaches: {
      healthinterval: key({
        doc: 'How often DTR checks each registered content cache.',
        format: durationFormat,
        default: '10s',
      }),
      healthtimeout: key({
        doc: 'How long a content cache health check may take.',
        format: durationFormat,
        default: '3s',
      }),
      cas: key({
        doc: 'PEM CA certificates trusted (besides the system ones) for connections to content caches.',
        format: listOf(absolutePathFormat),
        default: [],
      }),
    },
    grants: {
      lifetime: key({
        doc: 'Lifetime of the blob grants in content cache redirects.',
        format: durationFormat,
        default: '60s',
      }),
      keyrotation: key({
        doc: 'How often the grant signing key is replaced; old keys stay published until their grants expire.',
        format: durationFormat,
        default: '720h',
      }),
    },
    ui: {
      sessionlifetime: key({
        doc: 'How long a web UI sign-in lasts.',
        format: durationFormat,
        default: '12h',
      }),
    },
    ca: {
      certificate: optionalKey({
        doc: "PEM CA certificate served at GET /ca (the CA of DTR's TLS certificate).",
        format: absolutePathFormat,
      }),
    },
  };
}

/** The typed DTR configuration. */
export interface DtrConfig {
  log: LogConfig;
  storage: StorageConfig;
  http: HttpConfig;
  databasePath: string;
  auth: {
    service: string;
    issuer: string;
    realm: URL | undefined;
    tokenTtl: Duration;
    keyFile: string;
  };
  admin: { username: string; password: string | undefined };
  createOnPush: boolean;
  caCertificate: string | undefined;
  contentCaches: { healthInterval: Duration; healthTimeout: Duration; cas: string[] };
  grants: { lifetime: Duration; keyRotation: Duration };
  ui: { sessionLifetime: Duration };
}

/** DTR's configuration definition: `DTR_API_*` environment overrides. */
export const dtrConfigDefinition: ConfigDefinition<
  ReturnType<typeof dtrConfigSchema>,
  DtrConfig
> = {
  envPrefix: 'DTR_API',
  schema: dtrConfigSchema(),
  build(values, context) {
    return {
      log: buildLogConfig(values.log),
      storage: buildStorageConfig(values.storage, context),
      http: buildHttpConfig(values.http, context),
      databasePath: values.database.path,
      auth: {
        service: values.auth.service,
        issuer: values.auth.issuer,
        realm: values.auth.realm,
        tokenTtl: values.auth.tokenttl,
        keyFile: values.auth.keyfile,
      },
      admin: { username: values.admin.username, password: values.admin.password },
      createOnPush: values.registry.createonpush,
      caCertificate: values.ca.certificate,
      contentCaches: {
        healthInterval: values.contentcaches.healthinterval,
        healthTimeout: values.contentcaches.healthtimeout,
        cas: values.contentcaches.cas,
      },
      grants: { lifetime: values.grants.lifetime, keyRotation: values.grants.keyrotation },
      ui: { sessionLifetime: values.ui.sessionlifetime },
    };
  },
};

/**
 * Loads DTR's configuration file with `DTR_API_*` environment overrides.
 * @throws ConfigError listing every problem.
 */
export function loadDtrConfig(source: ConfigSource = {}): DtrConfig {
  return loadConfig(dtrConfigDefinition, source);
}
