/**
 * `pnpm start`: creates the database if missing, migrates it, and runs receiver, worker, api and
 * (unless HMRC_API_BASE_URL is set) the HMRC sandbox in this one process. Settings come from the
 * environment and an optional .env file; see .env.example.
 */
import { existsSync } from 'node:fs';
import { ConfigError, parseEnv, redisConcern } from '@ctc-hub/config';
// The module itself, not the package: the package's index loads BullMQ, which is what we are
// trying not to wait for.
import { connectAtStartup } from '../packages/queue/src/connections.js';
import type { Stack } from './stack.js';

if (existsSync('.env')) process.loadEnvFile('.env');

// A local Redis usually has no persistence; production refuses one (REDIS_DURABILITY=check).
// Here it is allowed unless the environment says otherwise, and the banner says so.
if ((process.env.REDIS_DURABILITY ?? '') === '') process.env.REDIS_DURABILITY = 'allow-volatile';

// Loading every service's modules takes seconds on a busy machine. Reach Redis meanwhile, so an
// unreachable one is reported REDIS_STARTUP_TIMEOUT_SECONDS after start, not after loading too.
const loading = import('./stack.js');
loading.catch(() => undefined);

let stack: Stack;
const { connectEori, devDefaults, flushLogs, startStack } = await (async () => {
  try {
    (await connectAtStartup(parseEnv(redisConcern, process.env))).disconnect();
    return await loading;
  } catch (error) {
    fail(error);
  }
})();
try {
  stack = await startStack(process.env);
} catch (error) {
  fail(error, flushLogs);
}

/** Nothing has logged yet when Redis is the problem; the stack's logs are flushed when given. */
function fail(error: unknown, flush: () => void = () => undefined): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`ctc-hub failed to start: ${(error as Error).message}\n`);
  }
  flush();
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

const redis = stack.redisDurability;
const redisLines =
  redis.risks.length === 0
    ? [`  Redis                     ${redis.state}`]
    : [
        ...redis.risks.map((risk) => `  ! Redis: ${risk.problem}.`),
        redis.mode === 'allow-volatile'
          ? "    Allowed because REDIS_DURABILITY=allow-volatile (pnpm start's default); fine for trying ctc-hub."
          : `    Accepted on your word: REDIS_DURABILITY=${redis.mode}.`,
        '    Deployed services refuse such a Redis unless told otherwise: docs/OPERATIONS.md, "Redis durability".',
      ];

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
  ...redisLines,
  '',
  'Try:',
  `  curl -H 'Authorization: Bearer ${stack.apiKey}' -H 'Accept: application/vnd.hmrc.2.1+json' ${stack.apiUrl}/customs/transits/movements/departures`,
  '  pnpm demo        (in another terminal: drives departures and arrivals through the sandbox)',
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);

// Stop once. A second signal forces the exit, but not one that arrives within a second of the
// first: Ctrl-C reaches this process from the terminal and again as forwarded by pnpm and tsx.
let stoppingSince: number | undefined;
const stop = (signal: string) => {
  if (stoppingSince !== undefined) {
    if (Date.now() - stoppingSince < 1000) return;
    process.exit(1);
  }
  stoppingSince = Date.now();
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
