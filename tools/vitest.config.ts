import { defineProject } from 'vitest/config';

// The tools' own unit specs (beside the code): e.g. the WAN relay the chain benchmark uses.
export default defineProject({
  test: {
    name: 'tools',
    include: ['**/*.spec.ts'],
    exclude: ['**/node_modules/**'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
