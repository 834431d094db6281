import { jobs } from '@ctc-hub/queue';
import { UnrecoverableError, type Job } from 'bullmq';
import { createVerifyConnectionProcessor } from './connection-check.js';
import type { HmrcDeps } from './deps.js';
import { createFetchProcessor } from './fetch-processor.js';
import { createGuaranteeBalanceProcessor } from './guarantee-processor.js';
import {
  createPpnsPullProcessor,
  createReconcileMessagesProcessor,
  createReconcileMovementsProcessor,
} from './reconcile.js';
import { createSubmitProcessor } from './submit-processor.js';

export type HmrcProcessor = (job: Job) => Promise<unknown>;

/**
 * The one processor of the `hmrc` queue: every call to HMRC is a job here, so the queue's
 * limiter is the single rate budget, and priorities order submissions before fetches before
 * reconciliation.
 */
export function createHmrcProcessor(deps: HmrcDeps): HmrcProcessor {
  const processors: Record<string, HmrcProcessor> = {
    [jobs.fetchMessage.name]: createFetchProcessor(deps),
    [jobs.submit.name]: createSubmitProcessor(deps),
    [jobs.guaranteeBalance.name]: createGuaranteeBalanceProcessor(deps),
    [jobs.verifyConnection.name]: createVerifyConnectionProcessor(deps),
    [jobs.ppnsPull.name]: createPpnsPullProcessor(deps),
    [jobs.reconcileMovements.name]: createReconcileMovementsProcessor(deps),
    [jobs.reconcileMessages.name]: createReconcileMessagesProcessor(deps),
  };
  return async (job) => {
    const processor = processors[job.name];
    if (processor === undefined) throw new UnrecoverableError(`unknown hmrc job ${job.name}`);
    return processor(job);
  };
}

export { RetryLater, type HmrcDeps } from './deps.js';
