import { projectTestConfig } from '../../vitest.shared';

// DTR's store specs and integration suites again, on PostgreSQL: a server of the project's own
// (tools/postgres) for the run, a new database per DTR the tests start. Not the suites that run
// the program itself (its CLI) or compare with the reference registry: those are not about data.
export default projectTestConfig('dtr-api (postgresql)', {
  include: [
    'src/store/**/*.spec.ts',
    'src/auth/shared-failure-backoff.spec.ts',
    'src/auth/token-service.spec.ts',
    'test/**/*.spec.ts',
  ],
  exclude: ['test/cli.spec.ts', 'test/differential.spec.ts'],
  globalSetup: ['test/postgres-global-setup.ts'],
  provide: { databaseEngine: 'postgresql' },
});
