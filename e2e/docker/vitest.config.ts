import { projectTestConfig } from '../../vitest.shared';

// Not part of `npm test`: `npm run test:docker` runs it (with a Docker engine; builds images).
export default projectTestConfig('e2e-docker', {
  testTimeout: 300_000,
  hookTimeout: 1_200_000,
  // One compose project at a time: the first builds the images (heavy), the next reuse Docker's
  // build cache; the images are removed after the last (test/suite-images.ts).
  fileParallelism: false,
  globalSetup: ['test/suite-images.ts'],
  // Ryuk, testcontainers' reaper, is an image pulled from Docker Hub, which this suite cannot
  // reach; the suite removes its compose project (containers, volumes) itself in afterAll.
  env: { TESTCONTAINERS_RYUK_DISABLED: 'true' },
});
