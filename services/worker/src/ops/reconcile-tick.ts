// STUB: implemented with reconciliation.
import type { Job } from 'bullmq';
import type { OpsDeps } from './deps.js';

/** `reconcile-tick`: queues the PPNS pulls and CTC sweeps that are due. */
export function createReconcileTickProcessor(deps: OpsDeps) {
  void deps;
  return async (job: Job): Promise<unknown> => ({ skipped: true, job: job.id });
}
