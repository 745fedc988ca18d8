import { projectTestConfig } from '../../vitest.shared';

// `npm run test:workers`: the integration suites again, each cache with two workers
// (`test/in-process-workers.ts`), and the program with worker processes of its own
// (`workers.spec.ts`, `cache-stats-workers.spec.ts`). Not the suites that run the program with one
// process (its CLI, Let's Encrypt: one worker, always) nor the launcher's bundle.
export default projectTestConfig('content-cache (2 workers)', {
  include: ['test/**/*.spec.ts'],
  exclude: ['test/cli.spec.ts', 'test/letsencrypt.spec.ts', 'test/bundle.spec.ts'],
  provide: { cacheWorkers: 2 },
});
