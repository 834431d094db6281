import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import { sql } from 'kysely';
import type { OpsDeps } from '../runtime/deps.js';
import { periodicTask } from '../runtime/periodic.js';

const intervalMs = 60_000;
/** A replay younger than this may still be on its way into Redis from the api. */
const graceSeconds = 60;

/**
 * A replay lives in two places: its `replays` row (the truth: which letters, how far it got) and
 * its BullMQ job (what makes a worker run it). If Redis lost the job (a restart without AOF, a
 * flush, a job that failed for good), the row would say `running` for ever. Every minute each
 * replica looks for running replays without a live job and queues the job again; the job resumes
 * from the row (items already settled are not re-run), and adding under the same job id is a
 * no-op when another replica got there first.
 */
export async function resumeOrphanedReplays(deps: OpsDeps): Promise<string[]> {
  const running = await deps.db
    .selectFrom('replays')
    .select('id')
    .where('status', '=', 'running')
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${graceSeconds})`)
    .execute();
  const resumed: string[] = [];
  for (const { id } of running) {
    const jobId = jobIds.replay(id);
    const job = await deps.queues.ops.getJob(jobId);
    if (job !== undefined) {
      if ((await job.getState()) !== 'failed') continue;
      await job.remove();
    }
    await addJob(deps.queues.ops, jobs.replay, { replayId: id }, { jobId });
    resumed.push(id);
  }
  if (resumed.length > 0)
    deps.logger.warn({ replays: resumed }, 'replays had no live job; queued them again');
  return resumed;
}

export const replayWatchdogTask = periodicTask({
  name: 'replay-watchdog',
  firstRunDelayMs: intervalMs,
  intervalMs,
  failure: 'could not check replays for lost jobs',
  work: async (deps) => {
    await resumeOrphanedReplays(deps);
  },
});
