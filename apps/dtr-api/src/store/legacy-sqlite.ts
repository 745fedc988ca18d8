import type BetterSqlite3 from 'better-sqlite3';

// The schema of the SQLite-only releases, as they built it (`user_version` counted the steps
// applied). A database they left behind is brought to their last step here, which is exactly the
// baseline of the versioned migrations (`migrations.ts`); from there both engines share one path.
export const LEGACY_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'organization')),
    password_hash TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  );
  CREATE TABLE memberships (
    organization_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (organization_id, user_id)
  );
  CREATE TABLE repositories (
    id INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    created_at TEXT NOT NULL,
    UNIQUE (namespace_id, name)
  );
  CREATE TABLE repository_blobs (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest)
  );
  CREATE TABLE manifests (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repository_id, digest)
  );
  CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repository_id, name),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests(repository_id, digest) ON DELETE CASCADE
  );
  `,
  `
  CREATE TABLE content_caches (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE account_settings (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    content_cache_id INTEGER REFERENCES content_caches(id) ON DELETE SET NULL
  );
  CREATE TABLE grant_keys (
    key_id TEXT PRIMARY KEY,
    private_key_pem TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
  );
  `,
  `
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX sessions_expires_at ON sessions(expires_at);
  `,
  // Ids are never reused (AUTOINCREMENT: a token, grant or old API call naming a deleted account
  // or cache must not reach its successor); a credential generation per account; per-account
  // storage quotas; organization roles (existing members become members); upload sessions.
  `
  CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'organization')),
    password_hash TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 1,
    storage_quota INTEGER
  );
  INSERT INTO accounts_new (id, name, kind, password_hash, is_admin, created_at)
    SELECT id, name, kind, password_hash, is_admin, created_at FROM accounts;
  DROP TABLE accounts;
  ALTER TABLE accounts_new RENAME TO accounts;
  CREATE TABLE content_caches_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  INSERT INTO content_caches_new (id, name, host, created_at)
    SELECT id, name, host, created_at FROM content_caches;
  DROP TABLE content_caches;
  ALTER TABLE content_caches_new RENAME TO content_caches;
  ALTER TABLE memberships ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CHECK (role IN ('owner', 'member'));
  CREATE TABLE upload_sessions (
    id TEXT PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    temp_key TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    active_at TEXT NOT NULL
  );
  CREATE INDEX upload_sessions_account ON upload_sessions(account_id);
  CREATE INDEX upload_sessions_active_at ON upload_sessions(active_at);
  CREATE INDEX repositories_namespace ON repositories(namespace_id);
  `,
];

/** The `user_version` of the SQLite-only releases' last schema: the baseline migration's. */
export const LEGACY_FINAL_VERSION = LEGACY_MIGRATIONS.length;

/**
 * Brings a database of the SQLite-only releases (`user_version` 1 to 3) to their last schema, one
 * transaction per step; foreign keys are off while a step rebuilds tables (SQLite's procedure)
 * and checked before it commits. Returns the `user_version` found: 0 for a new database.
 * @throws Error if a step would leave a broken reference (nothing of that step is applied).
 */
export function upgradeLegacySqlite(database: BetterSqlite3.Database): number {
  const found = database.pragma('user_version', { simple: true }) as number;
  if (found === 0) return 0;
  database.pragma('foreign_keys = OFF');
  try {
    for (let index = found; index < LEGACY_MIGRATIONS.length; index += 1) {
      database.transaction(() => {
        database.exec(LEGACY_MIGRATIONS[index] as string);
        const broken = database.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0)
          throw new Error(`migration ${index + 1} leaves ${broken.length} broken references`);
        database.pragma(`user_version = ${index + 1}`);
      })();
    }
  } finally {
    database.pragma('foreign_keys = ON');
  }
  return found;
}
