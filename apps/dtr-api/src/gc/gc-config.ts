import {
  type ConfigValues,
  type Duration,
  durationFormat,
  key,
  optionalKey,
} from '@dtr-cache/config';

/** The grace period when none is configured or given. */
export const DEFAULT_GRACE = '1h';

/**
 * The configuration section of garbage collection of blobs (docs/garbage-collection.md), for
 * DTR's schema: `schedule` (off unless set) and `grace`.
 */
export function garbageCollectionSchema() {
  return {
    schedule: optionalKey({
      doc: 'How often each DTR process runs garbage collection of blobs no manifest keeps (as `dtr-api garbage-collect` does). One run at a time across all replicas: a process whose turn comes while another run holds the lock skips it. Unset: never (run the command instead).',
      format: durationFormat,
    }),
    grace: key({
      doc: 'Blobs stored, linked (pushed, mounted) or used by a pushed manifest within this long before a run started are kept, as are those a push stores or links during the run: longer than any push takes from its first blob to its manifest, and than the clocks of the replicas and the storage differ. Also the default of the command’s --grace.',
      format: durationFormat,
      default: DEFAULT_GRACE,
    }),
  };
}

/** The typed `garbagecollection` section. */
export interface GarbageCollectionConfig {
  /** How often each process runs it; undefined: never. */
  readonly schedule: Duration | undefined;
  readonly grace: Duration;
}

/** The typed section from its values. */
export function buildGarbageCollectionConfig(
  values: ConfigValues<ReturnType<typeof garbageCollectionSchema>>,
): GarbageCollectionConfig {
  return { schedule: values.schedule, grace: values.grace };
}
