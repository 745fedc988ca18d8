import { defineConfig } from 'vitest/config';

// Root run: every project's own vitest.config.ts, one summary, one closing count line.
export default defineConfig({
  test: {
    projects: [
      'libs/*/vitest.config.ts',
      'apps/*/vitest.config.ts',
      // DTR's store specs and integration suites again, on a PostgreSQL server of their own.
      'apps/dtr-api/vitest.postgres.config.ts',
      'e2e/*/vitest.config.ts',
      // The tools' unit specs (the WAN relay).
      'tools/vitest.config.ts',
      // The cache's integration suites again, each cache with two workers: `npm run test:workers`.
      // The process topology end to end (npm start, skopeo, docker-like pulls): `npm run test:e2e`.
      '!e2e/topology/vitest.config.ts',
      // The Docker suite builds images and needs an engine: `npm run test:docker`.
      '!e2e/docker/vitest.config.ts',
      // The abuse-and-fault suite loads the whole topology for minutes: `npm run test:abuse`.
      '!e2e/abuse/vitest.config.ts',
      // The HA suite kills replicas and restarts PostgreSQL under load: `npm run test:ha`.
      '!e2e/ha/vitest.config.ts',
      // Cache groups with real caches, members killed mid-pull: `npm run test:groups`.
      '!e2e/groups/vitest.config.ts',
    ],
    reporters: ['default', './tools/test-summary-reporter.ts'],
  },
});
