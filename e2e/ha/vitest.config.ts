import { projectTestConfig } from '../../vitest.shared';

// Heavy: the start:ha topology (PostgreSQL, three DTR replicas behind nginx, the caches) with
// replicas killed and PostgreSQL restarted under load (`npm run test:ha`).
export default projectTestConfig('e2e-ha', {
  testTimeout: 300_000,
  hookTimeout: 300_000,
  fileParallelism: false,
});
