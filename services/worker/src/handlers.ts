import { hmrcPriority, jobs, type QueueName } from '@ctc-hub/queue';
import { UnrecoverableError, type Job } from 'bullmq';
import { createVerifyConnectionProcessor } from './connections/verify.js';
import type { Replayers } from './dead-letters/replay-plan.js';
import { createReplayProcessor } from './dead-letters/replay.js';
import { createGuaranteeBalanceProcessor } from './guarantees/balance.js';
import { createFetchProcessor } from './inbound/fetch.js';
import { replayFetch, replayMessage, replayNotification } from './inbound/replayers.js';
import { createIngestProcessor, type IngestProcessorDeps } from './inbound/processor.js';
import {
  createReconcileMessagesProcessor,
  createReconcileMovementsProcessor,
} from './reconciliation/ctc-sweep.js';
import { createPpnsPullProcessor } from './reconciliation/ppns-pull.js';
import { createReconcileTickProcessor } from './reconciliation/tick.js';
import type { HmrcDeps } from './runtime/deps.js';
import { hmrcLane } from './runtime/pacing.js';
import type { OpsDeps } from './runtime/deps.js';
import { replayRelay } from './relay/replay.js';
import { replaySubmission } from './submissions/replayer.js';
import { createSubmitProcessor } from './submissions/submit.js';
import { replayWebhook } from './webhooks/replay.js';

/** What a handler does with one job; `token` is BullMQ's lock token (replays extend it). */
export type Handler = (job: Job, token?: string) => Promise<unknown>;

type Catalogue = typeof jobs;
type JobKey = keyof Catalogue;
/** The jobs the catalogue puts on `queue`. */
type JobsOn<Q extends QueueName> = {
  [K in JobKey]: Catalogue[K]['queue'] extends Q ? K : never;
}[JobKey];

/**
 * Ops jobs one worker process runs at once. Replays may take all but one of them
 * (dead-letters/replay.ts): a replay can run for hours, and the reconcile tick must always find
 * a slot.
 */
export const opsConcurrency = 4;

/**
 * Which handler runs each job of the catalogue (packages/queue/src/catalogue.ts). The catalogue
 * says which queue a job is on (and so which budget and priority it gets); the folders say which
 * capability the handler belongs to. A job added to the catalogue without a handler here is a
 * type error.
 */
export const ingestHandlers = (deps: IngestProcessorDeps): Record<JobsOn<'ingest'>, Handler> => ({
  ingestNotification: createIngestProcessor(deps),
});

/** Every call to HMRC is a job on the hmrc queue: its limiter is the single rate budget. */
export const hmrcHandlers = (deps: HmrcDeps): Record<JobsOn<'hmrc'>, Handler> => ({
  fetchMessage: createFetchProcessor(deps),
  submit: createSubmitProcessor(deps),
  guaranteeBalance: createGuaranteeBalanceProcessor(deps),
  verifyConnection: createVerifyConnectionProcessor(deps),
  ppnsPull: createPpnsPullProcessor(deps),
  reconcileMovements: createReconcileMovementsProcessor(deps),
  reconcileMessages: createReconcileMessagesProcessor(deps),
});

/**
 * How each kind of dead letter is re-run, from the capability that writes it. The one place
 * they are assembled: the dead-letter kinds (packages/db dead-letters/keys.ts) type the table.
 */
export const replayers: Replayers = {
  notification: replayNotification,
  'fetch-message': replayFetch,
  message: replayMessage,
  submit: replaySubmission,
  webhook: replayWebhook,
  relay: replayRelay,
};

/** Background work that never calls HMRC itself. */
export const opsHandlers = (deps: OpsDeps): Record<JobsOn<'ops'>, Handler> => ({
  reconcileTick: createReconcileTickProcessor(deps),
  replay: createReplayProcessor(deps, { maxAtOnce: opsConcurrency - 1, replayers }),
});

/** One queue's processor: looks the job up by its catalogue name. */
export function processorOf<K extends JobKey>(
  queue: QueueName,
  handlers: Record<K, Handler>,
): Handler {
  const byName = new Map<string, Handler>();
  for (const key of Object.keys(handlers) as K[]) byName.set(jobs[key].name, handlers[key]);
  return async (job, token) => {
    const handler = byName.get(job.name);
    if (handler === undefined) throw new UnrecoverableError(`unknown ${queue} job ${job.name}`);
    return handler(job, token);
  };
}

/**
 * The hmrc queue's processor. Each job runs in the lane of its priority (runtime/pacing.ts):
 * declarations and what they wait on go first; fetches and reconciliation give way.
 */
export const createHmrcProcessor = (deps: HmrcDeps): Handler => {
  const run = processorOf('hmrc', hmrcHandlers(deps));
  return (job, token) =>
    hmrcLane.run(
      (job.opts.priority ?? hmrcPriority.submit) > hmrcPriority.submit ? 'gives-way' : 'first',
      () => run(job, token),
    );
};
export const createOpsProcessor = (deps: OpsDeps): Handler => processorOf('ops', opsHandlers(deps));
