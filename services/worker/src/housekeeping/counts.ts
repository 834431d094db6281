import { compactCounts } from '@ctc-hub/db';
import { periodicTask } from '../runtime/periodic.js';

/**
 * Every 10 s, folds the delta rows of movement_counts and message_counts (the exact totals of
 * the read API's big lists, packages/db/src/counts) into one row per group, so a total sums a
 * few hundred rows rather than one per ingest batch. Any replica may run it; an advisory lock
 * lets one at a time do the work, the others skip. A failed run only leaves more rows to sum.
 */
export const countsCompactionTask = periodicTask({
  name: 'counts-compaction',
  firstRunDelayMs: 10_000,
  intervalMs: 10_000,
  failure: 'could not compact the list counts; will retry',
  work: async (deps) => {
    await compactCounts(deps.db);
  },
});
