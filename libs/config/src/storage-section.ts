import { show } from './config-error';
import {
  absolutePathFormat,
  booleanFormat,
  type ConfigFormat,
  durationFormat,
  integerFormat,
  oneOf,
} from './config-format';
import type { BuildContext } from './config-loader';
import { type ConfigValues, ignored, key, refused } from './config-schema';
import type { Duration } from './formats/duration';

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

export type StorageDriverConfig =
  { kind: 'filesystem'; rootDirectory: string } | { kind: 'inmemory' };

/** `storage.maintenance.uploadpurging`. */
export interface UploadPurgingConfig {
  enabled: boolean;
  age: Duration;
  interval: Duration;
  dryRun: boolean;
}

/** The typed `storage` section. */
export interface StorageConfig {
  driver: StorageDriverConfig;
  deleteEnabled: boolean;
  uploadPurging: UploadPurgingConfig;
  /** `storage.maintenance.readonly.enabled`. */
  readOnly: boolean;
}

/** Builds `storage`; `prefix` is where the section sits (`storage`). */
export function buildStorageConfig(
  values: ConfigValues<ReturnType<typeof storageSchema>>,
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
  if (values.cache.blobdescriptor === 'redis' || values.cache.layerinfo === 'redis')
    context.warn(
      `${prefix}.cache`,
      'redis is not used: blob descriptors come from this server’s own index',
    );
  if (context.isSet(`${prefix}.cache.layerinfo`))
    context.warn(`${prefix}.cache.layerinfo`, 'deprecated: use storage.cache.blobdescriptor');
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
