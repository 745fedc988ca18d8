import {
  absolutePathFormat,
  booleanFormat,
  buildHttpConfig,
  byteSizeFormat,
  cidrFormat,
  buildLogConfig,
  buildStorageConfig,
  type BuildContext,
  type ConfigDefinition,
  type ConfigFormat,
  type ConfigIssue,
  type ConfigValues,
  ignored,
  refused,
  type ConfigSource,
  type Duration,
  durationFormat,
  type HttpConfig,
  httpSchema,
  httpUrlFormat,
  integerFormat,
  key,
  listOf,
  loadConfig,
  type LogConfig,
  logSchema,
  versionKey,
  optionalKey,
  type StorageConfig,
  storageSchema,
  stringFormat,
} from '@dtr-cache/config';
import type { Cidr } from '@dtr-cache/network';
import type { DatabaseLocation } from './store/database';
import {
  buildGarbageCollectionConfig,
  type GarbageCollectionConfig,
  garbageCollectionSchema,
} from './gc/gc-config';

/** A PostgreSQL connection URL: `postgres://user:password@host:port/database?sslmode=…`. */
const postgresUrlFormat: ConfigFormat<string> = {
  name: 'postgres-url',
  expected: 'a postgres:// (or postgresql://) URL naming a host and a database',
  parse(value) {
    if (typeof value !== 'string') throw new Error('is not a string');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error('is not a URL (postgres://user:password@host:port/database)');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
      throw new Error(`has scheme "${url.protocol}"; expected postgres: or postgresql:`);
    if (url.hostname === '') throw new Error('names no host');
    if (url.pathname.length <= 1) throw new Error('names no database (the path after the host)');
    return value;
  },
};

/** DTR's configuration schema: registry-style `log`, `storage`, `http`, plus DTR's own sections. */
export function dtrConfigSchema() {
  return {
    version: versionKey(),
    log: logSchema(),
    storage: storageSchema(),
    http: httpSchema(),
    network: {
      trustedproxies: key({
        doc: 'Proxies and load balancers (CIDR ranges) whose X-Forwarded-For header is believed: the client address (for throttling and logs) is then the first address, read from the right, that is not such a proxy. Empty: the TCP peer is the client.',
        format: listOf(cidrFormat),
        default: [],
      }),
    },
    database: {
      path: key({
        doc: 'SQLite database file holding accounts, repositories, manifests and tags (WAL mode): the embedded default, for one DTR process. Used when database.url is not set; setting both is an error.',
        format: absolutePathFormat,
        default: '/var/lib/dtr/dtr.sqlite',
      }),
      url: optionalKey({
        doc: 'PostgreSQL database instead of SQLite, for several DTR replicas: postgres://user:password@host:port/database; sslmode (disable, the default; require; verify-ca; verify-full, as libpq and psql read them) and sslrootcert (a CA file) in the query are honoured; allow and prefer are refused. The schema is created and migrated at start.',
        format: postgresUrlFormat,
        sensitive: true,
      }),
      poolsize: key({
        doc: 'PostgreSQL connections each DTR process keeps at most.',
        format: integerFormat('pool-size', 1, 1000),
        default: 10,
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
        doc: 'PEM file of an Ed25519 key that signed bearer tokens before the keys were kept in the database: imported as the first token key when the database has none (read only; no file is written).',
        format: absolutePathFormat,
        default: '/var/lib/dtr/token-key.pem',
      }),
      keyrotation: key({
        doc: 'How often the bearer token signing key is replaced (all replicas together, through the database); old keys verify until their tokens expire.',
        format: durationFormat,
        default: '720h',
      }),
      throttle: {
        freeattempts: key({
          doc: 'Failed password checks allowed for one account, or from one client address, before each further attempt must wait (429 with Retry-After).',
          format: integerFormat('free-attempts', 1, 1000),
          default: 5,
        }),
        maxbackoff: key({
          doc: 'The longest wait after failed password checks (it doubles from 1s per failure up to this): no account is ever locked for longer. An address that signed in to the account before is not held back by failures from elsewhere.',
          format: durationFormat,
          default: '5m',
        }),
      },
      hashconcurrency: key({
        doc: 'Password hashes (scrypt) computed at once; more wait in a bounded queue, so logins cannot starve other requests of CPU and threads. 0: half the available cores (at least 1).',
        format: integerFormat('hash-concurrency', 0, 64),
        default: 0,
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
      uploads: {
        maxperaccount: key({
          doc: 'Blob upload sessions one account may have open at once; more are refused with 429 TOOMANYREQUESTS.',
          format: integerFormat('uploads-per-account', 1, 100_000),
          default: 100,
        }),
        maxsessions: key({
          doc: 'Blob upload sessions open at once for all accounts together; more are refused with 429 TOOMANYREQUESTS.',
          format: integerFormat('uploads-total', 1, 1_000_000),
          default: 2000,
        }),
        idletimeout: key({
          doc: 'An upload session that receives no request for this long ends, and its bytes are removed.',
          format: durationFormat,
          default: '15m',
        }),
      },
    },
    quota: {
      default: optionalKey({
        doc: 'Storage quota of every namespace (user or organization): the bytes of the distinct blobs and manifests of its repositories plus its uploads in progress. A push past it is refused with DENIED before its bytes are kept. Administrators override it per account (PATCH /api/v0/accounts/{name}). Unset: no quota.',
        format: byteSizeFormat,
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
      sampling: {
        interval: key({
          doc: "How often DTR reads every content cache member's stats (hit ratio, bytes, disk, fills) for the administrators' dashboard, with a credential signed by its grant key. One replica samples each interval (claimed in the database); samples are kept for two hours. At least 1s.",
          format: durationFormat,
          default: '15s',
        }),
      },
      allowednetworks: key({
        doc: 'Ranges (CIDR) a content cache host may be or resolve to although they are refused by default: link-local (169.254.0.0/16, fe80::/10, where cloud metadata services live), other cloud metadata addresses, unspecified, broadcast and multicast addresses.',
        format: listOf(cidrFormat),
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
    garbagecollection: garbageCollectionSchema(),
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
  /** Where the data lives: SQLite (`database.path`) or PostgreSQL (`database.url`). */
  database: DatabaseLocation;
  /** PostgreSQL connections this process keeps at most. */
  databasePoolSize: number;
  network: { trustedProxies: Cidr[] };
  auth: {
    service: string;
    issuer: string;
    realm: URL | undefined;
    tokenTtl: Duration;
    keyFile: string;
    keyRotation: Duration;
    throttle: { freeAttempts: number; maxBackoff: Duration };
    /** Concurrent password hashes; 0 means half the cores. */
    hashConcurrency: number;
  };
  admin: { username: string; password: string | undefined };
  createOnPush: boolean;
  uploads: { maxPerAccount: number; maxSessions: number; idleTimeout: Duration };
  /** Bytes per namespace unless overridden per account; undefined: no quota. */
  defaultQuota: number | undefined;
  caCertificate: string | undefined;
  contentCaches: {
    healthInterval: Duration;
    healthTimeout: Duration;
    /** How often one replica samples every cache member's stats for the dashboard. */
    samplingInterval: Duration;
    cas: string[];
    allowedNetworks: Cidr[];
  };
  grants: { lifetime: Duration; keyRotation: Duration };
  ui: { sessionLifetime: Duration };
  garbageCollection: GarbageCollectionConfig;
  /** Start-up warnings: keys of the shared sections accepted with no effect here. */
  warnings: readonly ConfigIssue[];
}

/** DTR's configuration definition: `DTR_API_*` environment overrides. */
export const dtrConfigDefinition: ConfigDefinition<
  ReturnType<typeof dtrConfigSchema>,
  DtrConfig
> = {
  envPrefix: 'DTR_API',
  schema: dtrConfigSchema(),
  // Keys of the registry's shared sections that DTR does not take as a content cache does.
  overrides: {
    'http.prefix': refused(
      'DTR serves at the root path of its host (its UI, API and token service with the registry API): give it a host of its own',
    ),
    'http.tls.letsencrypt': refused(
      'configure http.tls.certificate and key (DTR replicas share one certificate)',
    ),
    'storage.redirect': ignored(
      'DTR never redirects to its storage: it redirects blob pulls to content caches, or serves them itself',
    ),
    'storage.maintenance.uploadpurging': ignored(
      'an upload session idle for registry.uploads.idletimeout ends, and its bytes are removed with it',
    ),
  },
  build(values, context) {
    return {
      log: buildLogConfig(values.log),
      storage: buildStorageConfig(values.storage, context),
      http: buildHttpConfig(values.http, context),
      database: databaseLocation(values.database, context),
      databasePoolSize: values.database.poolsize,
      network: { trustedProxies: values.network.trustedproxies },
      auth: {
        service: values.auth.service,
        issuer: values.auth.issuer,
        realm: values.auth.realm,
        tokenTtl: values.auth.tokenttl,
        keyFile: values.auth.keyfile,
        keyRotation: values.auth.keyrotation,
        throttle: {
          freeAttempts: values.auth.throttle.freeattempts,
          maxBackoff: values.auth.throttle.maxbackoff,
        },
        hashConcurrency: values.auth.hashconcurrency,
      },
      admin: { username: values.admin.username, password: values.admin.password },
      createOnPush: values.registry.createonpush,
      uploads: {
        maxPerAccount: values.registry.uploads.maxperaccount,
        maxSessions: values.registry.uploads.maxsessions,
        idleTimeout: values.registry.uploads.idletimeout,
      },
      defaultQuota: values.quota.default,
      caCertificate: values.ca.certificate,
      contentCaches: {
        healthInterval: values.contentcaches.healthinterval,
        healthTimeout: values.contentcaches.healthtimeout,
        samplingInterval: values.contentcaches.sampling.interval,
        cas: values.contentcaches.cas,
        allowedNetworks: values.contentcaches.allowednetworks,
      },
      grants: { lifetime: values.grants.lifetime, keyRotation: values.grants.keyrotation },
      ui: { sessionLifetime: values.ui.sessionlifetime },
      garbageCollection: garbageCollectionOf(values, context),
      warnings: context.warnings,
    };
  },
};

/** `garbagecollection`, checked against the uploads and the database pool it needs. */
function garbageCollectionOf(
  values: ConfigValues<ReturnType<typeof dtrConfigSchema>>,
  context: BuildContext,
): GarbageCollectionConfig {
  const gc = buildGarbageCollectionConfig(values.garbagecollection);
  const idle = values.registry.uploads.idletimeout;
  if (gc.grace.milliseconds <= idle.milliseconds)
    context.issues.add(
      'garbagecollection.grace',
      `${gc.grace.text} must be longer than registry.uploads.idletimeout (${idle.text}): an upload may rest that long before its blob is stored`,
    );
  if (
    gc.schedule !== undefined &&
    values.database.url !== undefined &&
    values.database.poolsize < 2
  )
    context.issues.add(
      'database.poolsize',
      'must be at least 2 with garbagecollection.schedule: a run holds one connection for its lock',
    );
  return gc;
}

function databaseLocation(
  values: { path: string; url: string | undefined },
  context: BuildContext,
): DatabaseLocation {
  if (values.url === undefined) return { engine: 'sqlite', path: values.path };
  if (context.isSet('database.path'))
    context.issues.add(
      'database',
      'database.path (SQLite) and database.url (PostgreSQL) are both set: choose one',
    );
  return { engine: 'postgresql', url: values.url };
}

/**
 * Loads DTR's configuration file with `DTR_API_*` environment overrides.
 * @throws ConfigError listing every problem.
 */
export function loadDtrConfig(source: ConfigSource = {}): DtrConfig {
  return loadConfig(dtrConfigDefinition, source);
}
