import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Calls of node:test that return a promise the runner itself awaits.
const NODE_TEST = ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'];

export default tseslint.config(
  { ignores: ['dist/', '.build/', 'node_modules/', 'tools/', 'test/fixtures/hosts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: NODE_TEST }],
        },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Test doubles implement async interfaces with plain bodies.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
);
