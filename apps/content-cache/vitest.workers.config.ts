import { projectTestConfig } from '../../vitest.shared';

// The integration suites again, each cache with two workers (`test/in-process-workers.ts`). Not
// those that run the program with workers of its own, nor Let's Encrypt (one worker, always), nor
// the launcher's bundle.
export default projectTestConfig('content-cache (2 workers)', {
  include: ['test/**/*.spec.ts'],
  exclude: [
    'test/workers.spec.ts',
    'test/cache-stats-workers.spec.ts',
    'test/cli.spec.ts',
    'test/letsencrypt.spec.ts',
    'test/bundle.spec.ts',
  ],
  provide: { cacheWorkers: 2 },
});
