/**
 * A second worker replica for pacing.int.test.ts, in a process of its own (its event loop is not
 * the one the test blocks): waits for a line on stdin, then makes CALLS HMRC calls on LANES
 * concurrent lanes through its own connection to the shared pacers, and prints `done`.
 *
 *   REDIS_URL=… QUEUE_PREFIX=… TARGET_URL=… CALLS=12 LANES=2 node --import tsx paced-replica.ts
 */
import { CtcClient } from '@ctc-hub/hmrc-client';
import { Redis } from 'ioredis';
import { createHmrcPacing } from '../pacing.js';

const env = process.env;
const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const pacing = createHmrcPacing(redis, {
  QUEUE_PREFIX: env.QUEUE_PREFIX!,
  HMRC_RATE_LIMIT_PER_SECOND: Number(env.RATE ?? '3'),
  PPNS_LIST_MIN_GAP_MS: 10_250,
});
const ctc = new CtcClient({
  baseUrl: env.TARGET_URL!,
  apiVersion: '2.1',
  timeoutMs: 10_000,
  beforeRequest: pacing.clear,
});
const calls = Number(env.CALLS ?? '12');
const lanes = Number(env.LANES ?? '2');

process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
let next = 0;
let failed = 0;
await Promise.all(
  Array.from({ length: lanes }, async () => {
    while (next < calls) {
      next += 1;
      const result = await ctc.listMovements({ type: 'departure', token: 'replica-token' });
      if (!result.ok) failed += 1;
    }
  }),
);
process.stdout.write(`done ${calls} ${failed}\n`);
redis.disconnect();
