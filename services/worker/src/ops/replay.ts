// STUB: implemented with dead-letter replay.
import type { Job } from 'bullmq';
import type { OpsDeps } from './deps.js';

/** `replay`: re-queues the dead letters of a bulk replay, paced. */
export function createReplayProcessor(deps: OpsDeps) {
  void deps;
  return async (job: Job): Promise<unknown> => {
    throw new Error(`replay not implemented (${job.id})`);
  };
}
