import type { OpsDeps } from './deps.js';
import type { BackgroundTask } from './deps.js';

/**
 * A task that runs `work` after `firstRunDelayMs`, then every `intervalMs`, never twice at once
 * in this process (replicas coordinate inside `work`, with locks). A failure is logged by `work`'s
 * caller here and retried at the next interval; stopping waits for a run in progress.
 */
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
    start: async (deps: OpsDeps) => {
      let running: Promise<void> | undefined;
      const run = () => {
        running ??= options
          .work(deps)
          .catch((error: unknown) => deps.logger.warn({ err: error }, options.failure))
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
    },
  };
}
