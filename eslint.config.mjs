import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'runs/**', 'coverage/**', '.pack-test-*/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {require: 'readonly', module: 'writable', process: 'readonly',
        __dirname: 'readonly', __filename: 'readonly', console: 'readonly', URL: 'readonly'},
    },
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    files: ['examples/browser/**/*.js'],
    languageOptions: {globals: {window: 'readonly', document: 'readonly', location: 'readonly', navigator: 'readonly',
      URLSearchParams: 'readonly', fetch: 'readonly', File: 'readonly', Blob: 'readonly', performance: 'readonly', tf: 'readonly', tfdp: 'readonly'}},
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_'}],
      eqeqeq: ['error', 'always', {null: 'ignore'}],
    },
  },
);
