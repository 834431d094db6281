import { jobs } from '@ctc-hub/queue';
import { UnrecoverableError, type Job } from 'bullmq';
import type { OpsDeps } from './deps.js';
import { createReconcileTickProcessor } from './reconcile-tick.js';
import { createReplayProcessor } from './replay.js';

export type OpsProcessor = (job: Job, token?: string) => Promise<unknown>;

/**
 * Ops jobs one worker process runs at once. Replays may take all but one of them
 * (replay.ts): a replay can run for hours, and the reconcile tick must always find a slot.
 */
export const opsConcurrency = 4;

/** The processor of the `ops` queue: background work that never calls HMRC itself. */
export function createOpsProcessor(deps: OpsDeps): OpsProcessor {
  const processors: Record<string, OpsProcessor> = {
    [jobs.reconcileTick.name]: createReconcileTickProcessor(deps),
    [jobs.replay.name]: createReplayProcessor(deps, { maxAtOnce: opsConcurrency - 1 }),
  };
  return async (job, token) => {
    const processor = processors[job.name];
    if (processor === undefined) throw new UnrecoverableError(`unknown ops job ${job.name}`);
    return processor(job, token);
  };
}

export type { OpsDeps } from './deps.js';
