// STUB: implemented next.
import type { Job } from 'bullmq';
import type { HmrcDeps } from './deps.js';

export function createSubmitProcessor(deps: HmrcDeps) {
  void deps;
  return async (job: Job): Promise<unknown> => {
    throw new Error(`submit not implemented (${job.id})`);
  };
}
