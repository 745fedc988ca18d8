import { projectTestConfig } from '../../vitest.shared';

// Each integration suite's cache runs with one worker here, with two in `vitest.workers.config.ts`
// (`npm run test:workers`), which also runs the program with worker processes of its own.
export default projectTestConfig('content-cache', {
  exclude: ['**/node_modules/**', 'test/workers.spec.ts', 'test/cache-stats-workers.spec.ts'],
  provide: { cacheWorkers: 1 },
});
