import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * The one test-runner configuration every project extends: unit specs live beside the code as
 * `*.spec.ts`; integration specs of an app live under `test/`.
 */
export function projectTestConfig(name: string, overrides: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    test: {
      name,
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      environment: 'node',
      testTimeout: 20_000,
      hookTimeout: 20_000,
      ...overrides,
    },
  });
}
