import type { Logger } from '@ctc-hub/telemetry';
import type { BackgroundTask, OpsDeps } from './deps.js';

/**
 * The worker's one way of doing work on a timer in this process: `work` after `firstRunDelayMs`,
 * then every `intervalMs`, never twice at once in this process. A failure is logged and retried
 * at the next interval; stopping waits for a run in progress. Work that must run once across all
 * replicas is a BullMQ job scheduler instead (reconciliation/scheduler.ts), or takes a lock
 * inside `work`.
 */
export function startPeriodic(options: {
  firstRunDelayMs: number;
  intervalMs: number;
  work: () => Promise<unknown>;
  logger: Pick<Logger, 'warn'>;
  /** The log line when a run fails. */
  failure: string;
}): { stop: () => Promise<void> } {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= options
      .work()
      .then(() => undefined)
      .catch((error: unknown) => options.logger.warn({ err: error }, options.failure))
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(run, options.firstRunDelayMs);
  const timer = setInterval(run, options.intervalMs);
  first.unref();
  timer.unref();
  return {
    stop: async () => {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}

/** A periodic job as one of the worker's long-running tasks (tasks.ts). */
export function periodicTask(options: {
  name: string;
  firstRunDelayMs: number;
  intervalMs: number;
  work: (deps: OpsDeps) => Promise<void>;
  /** The log line when a run fails. */
  failure: string;
}): BackgroundTask {
  return {
    name: options.name,
    start: async (deps: OpsDeps) =>
      startPeriodic({
        firstRunDelayMs: options.firstRunDelayMs,
        intervalMs: options.intervalMs,
        work: () => options.work(deps),
        logger: deps.logger,
        failure: options.failure,
      }),
  };
}
