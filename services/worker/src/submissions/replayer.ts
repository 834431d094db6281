import { requeueFailedSubmission } from '@ctc-hub/db';
import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import { z } from 'zod';
import type { Replayer } from '../dead-letters/replay-plan.js';

const submitPayload = z.object({ submissionId: z.string().uuid() });

/**
 * A failed submission goes back to `queued` with `outcome_unknown`: an earlier attempt may have
 * reached HMRC, so the submit processor looks for it at HMRC before sending anything.
 *
 * Unlike the other kinds it keeps its usual job id (`submit-<id>`): the outbox relay re-queues a
 * queued submission whose `submit-<id>` job is missing, and a second job under another id could
 * run beside ours. The earlier job finished when the submission failed, so it is removed first.
 */
export const replaySubmission: Replayer = (letter) => {
  const payload = submitPayload.safeParse(letter.payload);
  if (!payload.success) return { ok: false, reason: 'the dead letter names no submission' };
  const { submissionId } = payload.data;
  const jobId = jobIds.submit(submissionId);
  return {
    ok: true,
    jobId,
    prepare: (trx) => requeueFailedSubmission(trx, submissionId),
    enqueue: async (deps, claimedAt) => {
      const existing = await deps.queues.hmrc.getJob(jobId);
      if (existing !== undefined) {
        // Added at or after the claim: ours, from before a crash. BullMQ timestamps come from
        // the adding process's clock; a skew can only make us re-add a job whose submission is
        // no longer queued, which the processor then leaves alone.
        if (existing.timestamp >= claimedAt.getTime()) return;
        if (existing.finishedOn === undefined)
          throw new Error(`the earlier job ${jobId} has not finished yet; retrying the replay`);
        await existing.remove();
      }
      await addJob(
        deps.queues.hmrc,
        jobs.submit,
        { submissionId, trace: {} },
        { jobId, attempts: deps.config.SUBMIT_MAX_ATTEMPTS },
      );
    },
  };
};
