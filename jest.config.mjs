// Jest runs the TypeScript sources as native ES modules (transpiled by SWC, no type checking:
// `pnpm typecheck` does that). Integration tests share one migrated template database created by
// the global setup; each test file clones its own copy and uses its own Redis prefix.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/{packages,services,tests}/**/*.test.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    '/dist/',
    '\\.fault\\.test\\.ts$',
    '\\.fuzz\\.test\\.ts$',
  ],
  globalSetup: '<rootDir>/packages/testing/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/packages/testing/jest-global-teardown.mjs',
  testTimeout: 60_000,
  // Tests wait on Postgres, Redis and sockets more than on CPU: two workers on two cores.
  maxWorkers: 2,
  // Keep the default reporter readable; CI reads counts from the JSON file instead.
  verbose: false,
};
