import { projectTestConfig } from '../../vitest.shared';

// Heavy: the process topology under attack, one spec file at a time (`npm run test:abuse`).
export default projectTestConfig('e2e-abuse', {
  testTimeout: 240_000,
  hookTimeout: 240_000,
  fileParallelism: false,
  globalSetup: ['./test/global-setup.ts'],
});
