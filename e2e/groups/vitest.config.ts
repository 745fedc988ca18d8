import { projectTestConfig } from '../../vitest.shared';

// Cache groups with real caches and skopeo: fleets of content-cache processes around a DTR, members
// killed mid-pull (`npm run test:groups`).
export default projectTestConfig('e2e-groups', {
  testTimeout: 300_000,
  hookTimeout: 180_000,
  fileParallelism: false,
});
