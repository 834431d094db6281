import { addJob, fetchMessageData, jobIds, jobs } from '@ctc-hub/queue';
import { z } from 'zod';
import { replayJobId, type Replayer } from '../dead-letters/replay-plan.js';

/** Replayers of the dead letters the inbound path writes (notification, fetch-message, message). */

const notificationPayload = z.object({
  envelope: z.string().min(1),
  source: z.string().optional(),
  receivedAt: z.string().optional(),
});
const envelopeIds = z.object({ notificationId: z.string().uuid(), boxId: z.string().uuid() });

/** A quarantined notification goes through the ingest path again, from its stored envelope. */
export const replayNotification: Replayer = (letter, attempt) => {
  const payload = notificationPayload.safeParse(letter.payload);
  if (!payload.success) return { ok: false, reason: 'the dead letter holds no envelope to replay' };
  let ids = { notificationId: letter.notification_id, boxId: letter.box_id };
  if (ids.notificationId === null || ids.boxId === null) {
    // Letters written before the ids were known still carry them in the envelope.
    const fromEnvelope = (() => {
      try {
        return envelopeIds.safeParse(JSON.parse(payload.data.envelope));
      } catch {
        return undefined;
      }
    })();
    if (fromEnvelope?.success !== true)
      return {
        ok: false,
        reason: 'neither the dead letter nor its envelope names the notification and box',
      };
    ids = fromEnvelope.data;
  }
  const { notificationId, boxId } = ids as { notificationId: string; boxId: string };
  const jobId = replayJobId(jobIds.ingest(notificationId), attempt);
  return {
    ok: true,
    jobId,
    enqueue: async (deps) => {
      await addJob(
        deps.queues.ingest,
        jobs.ingestNotification,
        {
          notificationId,
          boxId,
          source: 'replay',
          // The original time keeps the notification's row (and partition) the same.
          receivedAt: payload.data.receivedAt ?? letter.created_at.toISOString(),
          envelope: payload.data.envelope,
          trace: {},
        },
        { jobId },
      );
    },
  };
};

/** A body fetch that failed for good is queued again with the same job data. */
export const replayFetch: Replayer = (letter, attempt) => {
  const data = fetchMessageData.safeParse((letter.payload as { job?: unknown } | null)?.job);
  if (!data.success) return { ok: false, reason: 'the dead letter holds no fetch job to replay' };
  const job = data.data;
  const jobId = replayJobId(jobIds.fetch(job.movementType, job.movementId, job.messageId), attempt);
  return {
    ok: true,
    jobId,
    enqueue: async (deps) => {
      await addJob(deps.queues.hmrc, jobs.fetchMessage, job, {
        jobId,
        attempts: deps.config.FETCH_MAX_ATTEMPTS,
      });
    },
  };
};

/** The database refused the record; only its references were kept, so there is nothing to run. */
export const replayMessage: Replayer = () => ({
  ok: false,
  reason:
    'a message dead letter keeps only references (the database refused the record): fix the ' +
    'cause, then let reconciliation fetch the message again',
});
