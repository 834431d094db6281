import { applyRetention } from '@ctc-hub/db';
import type { OpsDeps } from '../ops/deps.js';
import type { BackgroundTask } from './index.js';

const firstRunDelayMs = 60_000;
const intervalMs = 24 * 3600 * 1000;

/**
 * Daily retention: drops monthly partitions past RETENTION_DAYS (packages/db applyRetention).
 * Every replica schedules it; an advisory lock lets one do the work.
 */
export const retentionTask: BackgroundTask = {
  name: 'retention',
  start: async (deps: OpsDeps) => {
    let running: Promise<void> | undefined;
    const run = () => {
      running ??= applyRetention(deps.db, deps.config.RETENTION_DAYS)
        .then((report) => {
          if (report.droppedPartitions.length > 0 || report.deletedMovements > 0) {
            deps.logger.info({ ...report }, 'retention removed data past RETENTION_DAYS');
          }
        })
        .catch((error: unknown) =>
          deps.logger.warn({ err: error }, 'retention failed; will retry tomorrow'),
        )
        .finally(() => {
          running = undefined;
        });
    };
    const first = setTimeout(run, firstRunDelayMs);
    const timer = setInterval(run, intervalMs);
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
