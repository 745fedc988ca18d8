import { projectTestConfig } from '../../vitest.shared';

// Two specs are about PostgreSQL itself (an outage of a server of its own; a copy from SQLite
// into it): vitest.postgres.config.ts runs them.
export default projectTestConfig('dtr-api', {
  exclude: ['test/database-outage.spec.ts', 'test/migrate-db.spec.ts'],
});
