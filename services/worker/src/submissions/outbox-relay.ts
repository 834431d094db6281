import { submissionsToRelay, type Db } from '@ctc-hub/db';
import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import type { Logger } from '@ctc-hub/telemetry';
import type { Queue } from 'bullmq';

/**
 * The api answers 202 once a submission is in Postgres; queueing its job can still fail (Redis
 * down) or the job can be lost (Redis restarted without its data). Every `intervalMs` this finds
 * submissions still queued or sending after `minAgeSeconds` and adds their job again; the stable
 * job id makes that a no-op when the job exists, so several replicas may run it.
 */
export function startOutboxRelay(options: {
  db: Db;
  hmrcQueue: Queue;
  logger: Logger;
  submitAttempts: number;
  intervalMs?: number;
  minAgeSeconds?: number;
}): { stop: () => void; runOnce: () => Promise<number> } {
  const { db, hmrcQueue, logger } = options;
  const runOnce = async (): Promise<number> => {
    const candidates = await submissionsToRelay(db, options.minAgeSeconds ?? 30);
    let added = 0;
    for (const { id } of candidates) {
      const existing = await hmrcQueue.getJob(jobIds.submit(id));
      if (existing !== undefined) continue;
      await addJob(
        hmrcQueue,
        jobs.submit,
        { submissionId: id, trace: {} },
        { jobId: jobIds.submit(id), attempts: options.submitAttempts },
      );
      added += 1;
    }
    if (added > 0)
      logger.warn({ added }, 'outbox relay re-queued submissions whose job was missing');
    return added;
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runOnce()
      .catch((error: unknown) => logger.warn({ err: error }, 'outbox relay failed; will try again'))
      .finally(() => {
        running = false;
      });
  }, options.intervalMs ?? 15_000);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
