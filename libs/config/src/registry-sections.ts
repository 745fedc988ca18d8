import { booleanFormat, durationFormat, integerFormat, oneOf } from './config-format';
import { type ConfigValues, ignored, key, optionalKey, refused } from './config-schema';
import type { Duration } from './formats/duration';

/**
 * `health`: the storage driver check is run; the file, HTTP and TCP checks of the registry are
 * not (a content cache's own readiness is its grant keys and its disk).
 */
export function healthSchema() {
  return {
    storagedriver: {
      enabled: key({
        doc: 'Checks the storage every interval (writes, reads back and removes a small file): after threshold failures in a row /health answers 503 with the reason.',
        format: booleanFormat,
        default: false,
      }),
      interval: key({
        doc: 'Time between two storage checks.',
        format: durationFormat,
        default: '10s',
      }),
      threshold: key({
        doc: 'Failed storage checks in a row that make the server unhealthy.',
        format: integerFormat('health-threshold', 1, 1000),
        default: 1,
      }),
    },
    file: ignored('only the storage driver check is run: take a cache out of rotation at DTR'),
    http: ignored('only the storage driver check is run; upstreams are checked on every fill'),
    tcp: ignored('only the storage driver check is run; upstreams are checked on every fill'),
  };
}

/** `health.storagedriver`, typed. */
export interface StorageHealthConfig {
  enabled: boolean;
  interval: Duration;
  threshold: number;
}

/** Builds `health.storagedriver`. */
export function buildStorageHealth(
  values: ConfigValues<ReturnType<typeof healthSchema>>,
): StorageHealthConfig {
  return { ...values.storagedriver };
}

/**
 * The registry's top-level sections a content cache has no use for (accepted, each with one
 * start-up warning saying why), the deprecated `loglevel`, and `proxy` (refused: a cache of
 * another registry is a different thing).
 */
export function otherRegistrySections() {
  return {
    loglevel: optionalKey({
      doc: 'Deprecated spelling of log.level (used when log.level is not set, with a warning).',
      format: oneOf('log-level', ['error', 'warn', 'info', 'debug']),
    }),
    auth: ignored(
      "users authenticate to DTR; a content cache authorizes each blob with DTR's signed grant",
    ),
    notifications: ignored('events are sent by DTR, where pushes and deletes happen'),
    redis: ignored('nothing is shared through Redis: each cache keeps its own index in memory'),
    reporting: ignored('error reporting services (bugsnag, newrelic) are not supported'),
    validation: ignored('manifests are validated by DTR; a content cache serves blobs only'),
    compatibility: ignored('manifests (schema 1 or any other) are served by DTR'),
    catalog: ignored('the catalog is served by DTR'),
    proxy: refused(
      'a content cache does not mirror another registry: it caches DTR through the downstream middleware (middleware.registry with name downstream)',
    ),
  };
}
