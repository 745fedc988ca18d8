// One flat config for the whole workspace. Module boundaries are enforced with Nx tags:
// libraries never import apps, and every project is reached only through its package name
// (its public API is `src/index.ts`), never through a deep or relative path.
import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/coverage', '**/.nx'],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          banTransitiveDependencies: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib'] },
          ],
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // (A library's second public entry, declared in its package.json exports: the plain
              // JavaScript launcher helpers the apps' bin scripts use before any TypeScript loads.)
              group: ['@dtr-cache/*/*', '!@dtr-cache/server-lifecycle/launcher'],
              message: 'Import a workspace library only through its public API (its package name).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // DTR's data access is asynchronous (one layer for SQLite and PostgreSQL): a promise where a
    // value belongs (an access check in a condition, a write nobody waits for) is a bug the type
    // checker alone does not see.
    files: ['apps/dtr-api/src/**/*.ts', 'apps/dtr-api/test/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['tools/**/*', '**/*.spec.ts', '**/*.config.ts', '**/main.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // Test-runner configuration files share the workspace's vitest.shared.ts; they are build
    // configuration, not project code, so the module-boundary rule does not apply to them.
    files: ['**/vitest.config.ts', '**/vitest.*.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
