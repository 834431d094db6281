#!/usr/bin/env node
// `pnpm test`: Jest with ES module support, writing machine-readable results to
// .jest-results.json (read by .ci/run) next to the usual console report. Extra arguments are
// passed to Jest, e.g. `pnpm test packages/ncts`.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jestBin = require.resolve('jest/bin/jest');
const outputFile = process.env.JEST_RESULTS_FILE ?? '.jest-results.json';

const child = spawn(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    jestBin,
    '--json',
    `--outputFile=${outputFile}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
