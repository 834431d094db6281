import { applyRetention } from '@ctc-hub/db';
import { periodicTask } from '../runtime/periodic.js';

/**
 * Daily retention: drops monthly partitions past RETENTION_DAYS (packages/db applyRetention).
 * Every replica schedules it; an advisory lock lets one do the work.
 */
export const retentionTask = periodicTask({
  name: 'retention',
  firstRunDelayMs: 60_000,
  intervalMs: 24 * 3600 * 1000,
  failure: 'retention failed; will retry tomorrow',
  work: async (deps) => {
    const report = await applyRetention(deps.db, deps.config.RETENTION_DAYS);
    if (report.droppedPartitions.length > 0 || report.deletedMovements > 0)
      deps.logger.info({ ...report }, 'retention removed data past RETENTION_DAYS');
  },
});
