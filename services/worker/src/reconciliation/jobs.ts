import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';
import { UnrecoverableError, type Job } from 'bullmq';

/**
 * Reconciliation jobs leave Redis as soon as they finish. A job id deduplicates for as long as the
 * job is kept (an hour when completed, a week when failed, by default), and these ids repeat
 * from run to run: a kept `pull-<box>` would silently swallow the next pulls of that box.
 * Failures stay visible in reconcile_state.last_error, the logs and ctc_reconcile_runs_total.
 */
export const removedWhenFinished: JobsOptions = { removeOnComplete: true, removeOnFail: true };

/** Job data checked against the catalogue; a mismatch is a bug, never retried. */
export function jobData<S extends z.ZodType>(schema: S, job: Job): z.infer<S> {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success)
    throw new UnrecoverableError(`job data does not match the catalogue: ${parsed.error.message}`);
  return parsed.data;
}
