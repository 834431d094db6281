// STUB: implemented by the guarantee-balance work.
import type { Job } from 'bullmq';
import type { HmrcDeps } from './deps.js';

export function createGuaranteeBalanceProcessor(deps: HmrcDeps) {
  void deps;
  return async (job: Job): Promise<unknown> => {
    throw new Error(`guarantee-balance not implemented (${job.id})`);
  };
}
