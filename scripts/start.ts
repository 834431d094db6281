/**
 * `pnpm start`: creates the database if missing, migrates it, and runs receiver, worker, api and
 * (unless HMRC_API_BASE_URL is set) the HMRC sandbox in this one process. Settings come from the
 * environment and an optional .env file; see .env.example.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '@ctc-hub/config';
import { flushLogs } from '@ctc-hub/telemetry';
import { connectEori, devDefaults, startStack } from './stack.js';

if (existsSync('.env')) process.loadEnvFile('.env');

let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`ctc-hub failed to start: ${(error as Error).message}\n`);
  }
  flushLogs();
  process.exit(1);
}

if (stack.sandbox !== undefined && stack.env.HMRC_DEFAULT_EORI === devDefaults.HMRC_DEFAULT_EORI) {
  // With the sandbox, connect the default trader so fetches work straight away.
  await connectEori(stack, devDefaults.HMRC_DEFAULT_EORI).catch((error: unknown) => {
    process.stderr.write(
      `could not connect ${devDefaults.HMRC_DEFAULT_EORI} to the sandbox: ${(error as Error).message}\n`,
    );
  });
}

const lines = [
  '',
  'ctc-hub is running',
  `  receiver (PPNS callback)  ${stack.receiverUrl}/ppns/callback`,
  `  api                       ${stack.apiUrl}`,
  `  worker (health/metrics)   ${stack.workerUrl}/metrics`,
  stack.sandbox !== undefined
    ? `  HMRC sandbox              ${stack.sandbox.url}`
    : `  HMRC                      ${stack.hmrcBaseUrl}`,
  `  API key                   ${stack.apiKey}`,
  '',
  'Try:',
  `  curl -H 'Authorization: Bearer ${stack.apiKey}' ${stack.apiUrl}/customs/transits/movements/departures`,
  '  pnpm demo        (in another terminal: drives departures and arrivals through the sandbox)',
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  process.stdout.write(`\n${signal}: stopping…\n`);
  const timer = setTimeout(() => process.exit(1), 25_000);
  timer.unref();
  stack
    .stop()
    .then(() => {
      flushLogs();
      process.exit(0);
    })
    .catch(() => process.exit(1));
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
