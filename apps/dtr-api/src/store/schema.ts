import type { Generated, Kysely } from 'kysely';

/** An `accounts` row (users and organizations). */
export interface AccountsTable {
  id: Generated<number>;
  name: string;
  kind: 'user' | 'organization';
  password_hash: string | null;
  /** 1 or 0 (the same on both engines). */
  is_admin: Generated<number>;
  created_at: string;
  generation: Generated<number>;
  /** Bytes; -1: no limit; NULL: the configured default. */
  storage_quota: number | null;
}

export interface MembershipsTable {
  organization_id: number;
  user_id: number;
  role: Generated<'owner' | 'member'>;
}

export interface RepositoriesTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  visibility: 'public' | 'private';
  created_at: string;
}

export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  size: number;
  /**
   * When the blob was last linked here or a manifest pushed here used it (schema 8); NULL: by a
   * release before, which garbage collection takes for "just now".
   */
  linked_at: Generated<string | null>;
}

export interface ManifestsTable {
  repository_id: number;
  digest: string;
  media_type: string;
  size: number;
  created_at: string;
  /**
   * The digest the manifest's `subject` names (OCI 1.1 referrers); `''` without one; null when it
   * was never examined (pushed before schema 7).
   */
  subject_digest: string | null;
  /** What the referrers API says the manifest is: its `artifactType`, else its config's type. */
  artifact_type: string | null;
  /** The manifest's `annotations` as JSON; null without any. */
  annotations: string | null;
}

export interface TagsTable {
  repository_id: number;
  name: string;
  manifest_digest: string;
  updated_at: string;
}

export interface ContentCachesTable {
  id: Generated<number>;
  name: string;
  host: string;
  created_at: string;
}

export interface AccountSettingsTable {
  account_id: number;
  content_cache_id: number | null;
  /** 1: the user chose to pull without a cache (schema 6); 0 with no cache: chosen by network. */
  no_cache: Generated<number>;
}

/** The members of a cache group, in order (schema 6); the first is also `content_caches.host`. */
export interface ContentCacheMembersTable {
  cache_id: number;
  host: string;
  position: number;
}

/** The client networks (CIDR) a cache serves users without a setting from (schema 6). */
export interface ContentCacheNetworksTable {
  cache_id: number;
  cidr: string;
}

/** Each group member's latest health check, as any replica recorded it (schema 6). */
export interface CacheMemberHealthTable {
  cache_id: number;
  host: string;
  /** 1 or 0. */
  healthy: number;
  error: string | null;
  checked_at: string;
}

/** A signing key of `grant_keys` or `token_keys` (schema 11: the same columns). */
export interface GrantKeysTable {
  key_id: string;
  private_key_pem: string;
  created_at: string;
  retired_at: Generated<string | null>;
  /** When it starts signing (schema 3; NULL: from its creation). */
  activates_at: Generated<string | null>;
}

export interface SessionsTable {
  token_hash: string;
  account_id: number;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface UploadSessionsTable {
  id: string;
  repository_id: number;
  account_id: number;
  temp_key: string;
  size: Generated<number>;
  started_at: string;
  active_at: string;
  /** The process whose request writes to it now (schema 2). */
  claimed_by: Generated<string | null>;
  /** Until when that claim holds unless renewed (a dead replica's claim runs out). */
  claimed_until: Generated<string | null>;
}

/** The latest health check of a cache, by whichever replica made it (schema 4). */
export interface CacheHealthTable {
  cache_id: number;
  /** 1 or 0. */
  healthy: number;
  error: string | null;
  checked_at: string;
}

/** Consecutive failed password checks per key (schema 5). */
export interface AuthFailuresTable {
  key: string;
  failures: number;
  /** When the next attempt is allowed (epoch ms). */
  until_ms: number;
  /** The last failure (epoch ms). */
  last_ms: number;
}

/** Leases of maintenance work one process at a time does (schema 8; garbage collection on SQLite). */
export interface MaintenanceLeasesTable {
  name: string;
  /** The process holding it. */
  holder: string;
  /** Until when it holds unless renewed (a dead holder's lease runs out). */
  expires_at: string;
}

/**
 * One stats sample of a cache member (schema 9): taken once per interval slot by the replica that
 * claimed it; the counters are the cache's since it started (null: the sample failed, `error`).
 */
export interface CacheStatsSamplesTable {
  id: Generated<number>;
  cache_id: number;
  host: string;
  /** The interval slot: when the interval starts, in milliseconds since the epoch. */
  slot: number;
  sampled_at: string;
  /** 1: the cache answered; 0: `error` says why not. */
  ok: number;
  error: string | null;
  version: string | null;
  started_at: string | null;
  /** The cache's upstream URLs, as a JSON list. */
  upstreams: string | null;
  requests_hit: number | null;
  requests_miss: number | null;
  requests_coalesced: number | null;
  requests_denied: number | null;
  requests_error: number | null;
  bytes_served: number | null;
  bytes_fetched: number | null;
  fills_committed: number | null;
  fills_failed: number | null;
  fills_in_flight: number | null;
  disk_used: number | null;
  disk_limit: number | null;
  disk_blobs: number | null;
}

/** The interval slots claimed for sampling, one replica each (schema 9). */
export interface CacheSampleSlotsTable {
  slot: number;
  replica: string;
  claimed_at: string;
}

/** Blob pulls sent to each cache, by why it was chosen (schema 9), added by each replica. */
export interface ContentCachePullsTable {
  cache_id: number;
  by_setting: Generated<number>;
  by_network: Generated<number>;
}

/** The schema migrations applied (see `migrator.ts`). */
export interface SchemaMigrationsTable {
  version: number;
  name: string;
  /** The oldest schema version whose code still works once this one is applied. */
  compatible_from: number;
  applied_at: string;
}

/** DTR's tables, as the data-access layer sees them on both engines. */
export interface DtrSchema {
  accounts: AccountsTable;
  memberships: MembershipsTable;
  repositories: RepositoriesTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  tags: TagsTable;
  content_caches: ContentCachesTable;
  content_cache_members: ContentCacheMembersTable;
  content_cache_networks: ContentCacheNetworksTable;
  cache_member_health: CacheMemberHealthTable;
  account_settings: AccountSettingsTable;
  grant_keys: GrantKeysTable;
  token_keys: GrantKeysTable;
  sessions: SessionsTable;
  upload_sessions: UploadSessionsTable;
  cache_health: CacheHealthTable;
  auth_failures: AuthFailuresTable;
  maintenance_leases: MaintenanceLeasesTable;
  cache_stats_samples: CacheStatsSamplesTable;
  cache_sample_slots: CacheSampleSlotsTable;
  content_cache_pulls: ContentCachePullsTable;
  schema_migrations: SchemaMigrationsTable;
}

/** An open database of either engine: the one data-access handle every store takes. */
export type Database = Kysely<DtrSchema>;

/** The database engines DTR runs on. */
export type DatabaseEngine = 'sqlite' | 'postgresql';
