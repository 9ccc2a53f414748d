import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { boundaryConfigs } from './import-boundaries.config.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'schema/', '*.config.*', 'bin/', 'out/', '.ci/cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./test/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // The ward page's own scripts run in the browser, as plain ES modules with no build step.
    files: ['web/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'module',
      parserOptions: { project: false, projectService: false },
      globals: Object.fromEntries(
        ['window', 'document', 'globalThis', 'localStorage', 'fetch', 'EventSource', 'HTMLButtonElement', 'devicePixelRatio', 'setInterval', 'URL', 'requestAnimationFrame', 'ResizeObserver'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  ...boundaryConfigs(),
);
