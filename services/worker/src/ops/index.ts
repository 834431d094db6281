import { jobs } from '@ctc-hub/queue';
import { UnrecoverableError, type Job } from 'bullmq';
import type { OpsDeps } from './deps.js';
import { createReconcileTickProcessor } from './reconcile-tick.js';
import { createReplayProcessor } from './replay.js';

export type OpsProcessor = (job: Job) => Promise<unknown>;

/** The processor of the `ops` queue: background work that never calls HMRC itself. */
export function createOpsProcessor(deps: OpsDeps): OpsProcessor {
  const processors: Record<string, OpsProcessor> = {
    [jobs.reconcileTick.name]: createReconcileTickProcessor(deps),
    [jobs.replay.name]: createReplayProcessor(deps),
  };
  return async (job) => {
    const processor = processors[job.name];
    if (processor === undefined) throw new UnrecoverableError(`unknown ops job ${job.name}`);
    return processor(job);
  };
}

export type { OpsDeps } from './deps.js';
