/**
 * Experiment harness for benchmark 2's drain (issue 14 §5): several variants of the worker, each
 * with its own receiver, database and Redis prefix, drain the same pre-filled queue in
 * interleaved rounds, so code or settings are compared side by side on one machine at one time.
 * Reports drain rate and CPU per notification (worker, this database's PostgreSQL backends,
 * Redis: run a Redis of your own via REDIS_URL for that one to be yours alone).
 *
 *   DRAIN_VARIANTS='[{"label":"main","workerScript":"/path/to/other/tree/services/worker/src/main.ts"},
 *                    {"label":"batch500","env":{"INGEST_BATCH_SIZE":"500"}},{"label":"naive","naive":true}]' \
 *   DRAIN_COUNT=5000 DRAIN_ROUNDS=3 pnpm exec tsx bench/src/ingest-drain-ab.ts
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { notificationTemplate, round, startLoadGenerator } from './lib.js';
import {
  drainRound,
  startSide,
  stopSide,
  throughputRoundForWarmUp,
  type DrainRound,
  type Side,
} from './ingest.js';

interface Variant {
  label: string;
  naive?: boolean;
  workerScript?: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
}

const variants = JSON.parse(
  process.env.DRAIN_VARIANTS ?? '[{"label":"ours"},{"label":"naive","naive":true}]',
) as Variant[];
const count = Number(process.env.DRAIN_COUNT ?? 5000);
const rounds = Number(process.env.DRAIN_ROUNDS ?? 3);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
};

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const generator = startLoadGenerator();
const template = notificationTemplate();
const sequence = { next: 0 };
const sides: { variant: Variant; side: Side }[] = [];
const results: DrainRound[] = [];
try {
  for (const variant of variants) {
    const side = await startSide(variant.naive === true ? 'naive' : 'ours', undefined, {
      label: variant.label,
      ...(variant.workerScript !== undefined ? { workerScript: variant.workerScript } : {}),
      ...(variant.env !== undefined ? { workerEnv: variant.env } : {}),
      ...(variant.nodeArgs !== undefined ? { workerNodeArgs: variant.nodeArgs } : {}),
    });
    sides.push({ variant, side });
  }
  for (const { side } of sides)
    await throughputRoundForWarmUp(side, generator, template, sequence, 1000, redis);
  for (let index = 0; index < rounds; index += 1) {
    // Rotate the order so no variant always follows the same one.
    const order = sides.map((_, i) => sides[(i + index) % sides.length]!);
    for (const { side } of order)
      results.push(await drainRound(side, generator, template, sequence, count, redis));
  }
  const summary = variants.map((variant) => {
    const mine = results.filter((result) => result.side === variant.label);
    return {
      label: variant.label,
      drainedPerSecond: median(mine.map((r) => r.drainedPerSecond)),
      cpuMsPerNotification: {
        worker: median(mine.map((r) => r.cpuMsPerNotification.worker)),
        postgresBackends: median(mine.map((r) => r.cpuMsPerNotification.postgresBackends)),
        redis: median(mine.map((r) => r.cpuMsPerNotification.redis)),
        total: median(mine.map((r) => r.cpuMsPerNotification.total)),
      },
      rounds: mine.map((r) => [r.drainedPerSecond, r.cpuMsPerNotification.total]),
    };
  });
  process.stdout.write(
    `${JSON.stringify({ count, rounds, loadAverageAtEnd: loadavg().map((v) => round(v, 2)), summary, results }, null, 2)}\n`,
  );
} finally {
  await generator.close();
  for (const { side } of sides) await stopSide(side);
  redis.disconnect();
}
