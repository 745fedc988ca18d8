import { projectTestConfig } from '../../vitest.shared';

// Four specs need PostgreSQL (an outage of a server of its own; TLS-only servers; a copy from SQLite
// into it; replicas sharing one database): vitest.postgres.config.ts runs them.
export default projectTestConfig('dtr-api', {
  exclude: [
    'test/database-outage.spec.ts',
    'test/database-tls.spec.ts',
    'test/migrate-db.spec.ts',
    'test/replicas.spec.ts',
  ],
});
