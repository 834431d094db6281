// typescript-eslint's recommended rules plus the house rules of docs/STYLE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'dist-sandbox/**',
      'coverage/**',
      'packages/ncts/xsd/**',
      'packages/client/src/schema.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Test code reads untyped JSON bodies; production code keeps `any` out by review.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports (STYLE.md).' },
      ],
    },
  },
  {
    // Test doubles and generators live on the test side (STYLE.md): what the deployed services
    // import must not reach them. tests/production-bundles.test.ts checks the built bundles; this
    // names the offending line.
    files: ['packages/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: [
      '**/*.test.ts',
      '**/test-support/**',
      '**/test-helpers.ts',
      '**/*-fixtures.ts',
      'packages/testing/**',
      'packages/ncts-testkit/**',
      'services/hmrc-sandbox/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ctc-hub/testing', '@ctc-hub/ncts-testkit', '@ctc-hub/hmrc-sandbox'],
              message: 'A test-side package: deployed code must not import it.',
            },
            {
              group: ['**/test-support/**', '**/test-helpers*', '**/*-fixtures*'],
              message: 'A test helper: only tests may import it.',
            },
          ],
        },
      ],
    },
  },
  {
    // Jest global setup/teardown must be default exports.
    files: [
      'packages/testing/**/global-*.ts',
      'packages/testing/*.mjs',
      'jest.config.mjs',
      'eslint.config.js',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
