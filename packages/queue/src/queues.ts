import { Queue, type JobsOptions, type QueueOptions } from 'bullmq';
import type { RedisConnection } from './connections.js';
import type { z } from 'zod';
import { backoffType } from './backoff.js';
import type { JobDefinition, QueueName } from './catalogue.js';

/**
 * Defaults for every job: keep a bounded history of completed jobs (job ids deduplicate only
 * while the job exists; Postgres is the real idempotency guard) and failed jobs for a week.
 */
export const defaultJobOptions: JobsOptions = {
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export function createQueue(
  name: QueueName,
  connection: RedisConnection,
  prefix: string,
  options: Partial<QueueOptions> = {},
): Queue {
  const queue = new Queue(name, { connection, prefix, defaultJobOptions, ...options });
  // A Queue emits 'error' when Redis drops; callers see failed adds, the process must not crash.
  queue.on('error', () => undefined);
  return queue;
}

/** Options for adding a job of `definition`: its attempts, backoff and priority. */
export function jobOptions(
  definition: JobDefinition<z.ZodType>,
  extra: JobsOptions = {},
): JobsOptions {
  return {
    attempts: definition.attempts,
    backoff: { type: backoffType },
    ...(definition.priority !== undefined ? { priority: definition.priority } : {}),
    ...extra,
  };
}

/** Adds a job after checking its data against the catalogue schema (a bug, not bad input, if it fails). */
export async function addJob<S extends z.ZodType>(
  queue: Queue,
  definition: JobDefinition<S>,
  data: z.input<S>,
  extra: JobsOptions = {},
): Promise<string | undefined> {
  const parsed = definition.schema.parse(data);
  const job = await queue.add(definition.name, parsed, jobOptions(definition, extra));
  return job.id;
}
