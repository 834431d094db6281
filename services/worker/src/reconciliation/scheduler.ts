import { jobs } from '@ctc-hub/queue';
import type { OpsDeps } from '../runtime/deps.js';
import type { BackgroundTask } from '../runtime/deps.js';

/**
 * The id of the one BullMQ job scheduler that runs `reconcile-tick`. It is stable, so every
 * replica upserting it at start-up leaves one schedule in Redis, and BullMQ hands each tick to one
 * worker: a tick runs once cluster-wide however many replicas there are.
 */
export const reconcileSchedulerId = 'reconcile-tick';

/** Retry delay when Redis refuses the upsert at start-up (the worker keeps starting meanwhile). */
const retryMs = 5_000;

/**
 * With RECONCILE_ENABLED the scheduler is upserted (its interval follows RECONCILE_TICK_SECONDS);
 * without it, removed, so no reconciliation call reaches HMRC. Stopping a replica leaves the
 * schedule in place for the others: BullMQ adds the next tick only when one is taken, so ticks do
 * not pile up while every worker is down.
 */
export const reconcileSchedulerTask: BackgroundTask = {
  name: 'reconcile-scheduler',
  start: async (deps: OpsDeps) => {
    const { config, logger } = deps;
    const queue = deps.queues.ops;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;

    const apply = async (): Promise<void> => {
      if (!config.RECONCILE_ENABLED) {
        await queue.removeJobScheduler(reconcileSchedulerId);
        logger.warn('RECONCILE_ENABLED is false: messages that push misses will not be recovered');
        return;
      }
      await queue.upsertJobScheduler(
        reconcileSchedulerId,
        { every: config.RECONCILE_TICK_SECONDS * 1000 },
        {
          name: jobs.reconcileTick.name,
          data: {},
          opts: {
            attempts: jobs.reconcileTick.attempts,
            // A tick a few seconds: keep a short history, not BullMQ's default hour of them.
            removeOnComplete: { count: 50 },
            removeOnFail: { count: 200 },
          },
        },
      );
      if (config.PPNS_BOX_IDS.length === 0)
        logger.warn('PPNS_BOX_IDS is empty: no PPNS box is pulled, only the CTC sweep runs');
      logger.info(
        {
          tickSeconds: config.RECONCILE_TICK_SECONDS,
          pullSeconds: config.PPNS_PULL_INTERVAL_SECONDS,
          sweepSeconds: config.RECONCILE_INTERVAL_SECONDS,
          boxes: config.PPNS_BOX_IDS.length,
        },
        'reconciliation scheduled',
      );
    };

    const attempt = async (): Promise<void> => {
      try {
        await apply();
      } catch (error) {
        logger.error({ err: error }, 'could not set up the reconcile schedule; retrying');
        if (stopped) return;
        timer = setTimeout(() => void attempt(), retryMs);
        timer.unref();
      }
    };
    await attempt();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  },
};
