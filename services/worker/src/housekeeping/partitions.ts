import { ensurePartitions } from '@ctc-hub/db';
import { periodicTask } from '../runtime/periodic.js';

/**
 * Monthly partitions ahead of time, daily (start-up prepares them once already, start.ts).
 * Creating a partition that exists is a no-op, so every replica may run it.
 */
export const partitionsTask = periodicTask({
  name: 'partitions',
  firstRunDelayMs: 24 * 3600 * 1000,
  intervalMs: 24 * 3600 * 1000,
  failure: 'could not prepare partitions',
  work: async (deps) => {
    await ensurePartitions(deps.db);
  },
});
