import { projectTestConfig } from '../../vitest.shared';

// Each integration suite's cache runs with one worker here, with two in `vitest.workers.config.ts`.
export default projectTestConfig('content-cache', { provide: { cacheWorkers: 1 } });
