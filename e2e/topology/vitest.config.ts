import { projectTestConfig } from '../../vitest.shared';

export default projectTestConfig('e2e-topology', { testTimeout: 120_000, hookTimeout: 180_000 });
