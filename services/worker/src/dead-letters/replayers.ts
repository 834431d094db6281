import { insertSubmissionEvent, type Database, type DeadLetter } from '@ctc-hub/db';
import { addJob, fetchMessageData, jobIds, jobs } from '@ctc-hub/queue';
import type { Transaction } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { OpsDeps } from '../runtime/deps.js';
import { replayWebhook } from '../webhooks/replay.js';

/**
 * How each kind of dead letter is re-run. A replayer only describes the work; the replay job
 * (replay.ts) decides when it runs, marks the letter and counts it. Another kind is one line:
 *
 *   registerReplayer('webhook', (letter, attempt) => ({ ok: true, jobId: …, enqueue: … }));
 *
 * A kind with no replayer is counted as failed with that reason, never silently skipped.
 */

export type ReplayTrx = Transaction<Database>;

export type ReplayPlan =
  | {
      ok: true;
      /**
       * The job that re-runs the work. It must be a function of (letter, attempt): a replay that
       * crashed after marking the letter adds the job again under the same id, and BullMQ then
       * keeps the one it has.
       */
      jobId: string;
      /**
       * Database changes that must commit together with the letter's `replayed` mark. Returns a
       * reason to skip the letter instead, having changed nothing.
       */
      prepare?: (trx: ReplayTrx) => Promise<{ skip: string } | undefined>;
      /** Adds the job. May run twice for one claim (after a crash); must tolerate that. */
      enqueue: (deps: OpsDeps, claimedAt: Date) => Promise<void>;
    }
  | { ok: false; reason: string };

/** `attempt` is the letter's replay_count after this replay (1 for the first replay). */
export type Replayer = (letter: DeadLetter, attempt: number, deps: OpsDeps) => ReplayPlan;

/** New job ids for replayed work: the old job may still exist (failed jobs stay for a week). */
export const replayJobId = (baseJobId: string, attempt: number): string =>
  `${baseJobId}-r${attempt}`;

const notificationPayload = z.object({
  envelope: z.string().min(1),
  source: z.string().optional(),
  receivedAt: z.string().optional(),
});
const envelopeIds = z.object({ notificationId: z.string().uuid(), boxId: z.string().uuid() });

/** A quarantined notification goes through the ingest path again, from its stored envelope. */
const replayNotification: Replayer = (letter, attempt) => {
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
const replayFetch: Replayer = (letter, attempt) => {
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

const submitPayload = z.object({ submissionId: z.string().uuid() });

/**
 * A failed submission goes back to `queued` with `outcome_unknown`: an earlier attempt may have
 * reached HMRC, so the submit processor looks for it at HMRC before sending anything.
 *
 * Unlike the other kinds it keeps its usual job id (`submit-<id>`): the outbox relay re-queues a
 * queued submission whose `submit-<id>` job is missing, and a second job under another id could
 * run beside ours. The earlier job finished when the submission failed, so it is removed first.
 */
const replaySubmission: Replayer = (letter) => {
  const payload = submitPayload.safeParse(letter.payload);
  if (!payload.success) return { ok: false, reason: 'the dead letter names no submission' };
  const { submissionId } = payload.data;
  const jobId = jobIds.submit(submissionId);
  return {
    ok: true,
    jobId,
    prepare: async (trx) => {
      const requeued = await trx
        .updateTable('submissions')
        .set({
          status: 'queued',
          outcome_unknown: true,
          completed_at: null,
          updated_at: sql`now()`,
        })
        .where('id', '=', submissionId)
        .where('status', '=', 'failed')
        .returning([
          'id',
          'eori',
          'movement_type',
          'movement_id',
          'message_type',
          'hmrc_message_id',
        ])
        .executeTakeFirst();
      if (requeued === undefined) {
        const current = await trx
          .selectFrom('submissions')
          .select('status')
          .where('id', '=', submissionId)
          .executeTakeFirst();
        return {
          skip:
            current === undefined
              ? 'the submission no longer exists'
              : `the submission is ${current.status}, not failed`,
        };
      }
      await insertSubmissionEvent(trx, requeued, 'submission.queued', { replayed: true });
      return undefined;
    },
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

/** The database refused the record; only its references were kept, so there is nothing to run. */
const replayMessage: Replayer = () => ({
  ok: false,
  reason:
    'a message dead letter keeps only references (the database refused the record): fix the ' +
    'cause, then let reconciliation fetch the message again',
});

const replayers = new Map<string, Replayer>([
  ['notification', replayNotification],
  ['fetch-message', replayFetch],
  ['submit', replaySubmission],
  ['message', replayMessage],
  ['webhook', replayWebhook],
]);

/** Adds (or replaces) the replayer of a dead-letter kind. */
export function registerReplayer(kind: string, replayer: Replayer): void {
  replayers.set(kind, replayer);
}

/** The plan for one letter, or why it cannot be replayed. */
export function planReplay(letter: DeadLetter, attempt: number, deps: OpsDeps): ReplayPlan {
  const replayer = replayers.get(letter.kind);
  if (replayer === undefined)
    return { ok: false, reason: `no replayer is registered for kind "${letter.kind}"` };
  return replayer(letter, attempt, deps);
}
