// STUB: implemented with reconciliation.
import type { Job } from 'bullmq';
import type { HmrcDeps } from './deps.js';

/** `ppns-pull`: pulls one PPNS box and feeds what push missed into the ingest path. */
export function createPpnsPullProcessor(deps: HmrcDeps) {
  void deps;
  return async (job: Job): Promise<unknown> => ({ skipped: true, job: job.id });
}

/** `reconcile-movements`: one page of movements updated since the scope's mark. */
export function createReconcileMovementsProcessor(deps: HmrcDeps) {
  void deps;
  return async (job: Job): Promise<unknown> => ({ skipped: true, job: job.id });
}

/** `reconcile-messages`: the messages of one movement; fetches any we do not have. */
export function createReconcileMessagesProcessor(deps: HmrcDeps) {
  void deps;
  return async (job: Job): Promise<unknown> => ({ skipped: true, job: job.id });
}
