import { sql, type Transaction } from 'kysely';
import type { Db } from '../connection.js';
import { recordDeadLetters, resolveReplayedDeadLetters } from '../dead-letters/letters.js';
import type { Database } from '../schema/database.js';
import type {
  HmrcReply,
  Submission,
  SubmissionAttempt,
  SubmissionStatus,
  SubmissionUploadRequest,
} from '../schema/submissions.table.js';
import { insertSubmissionEvent } from './events.js';

/**
 * The only writer of a submission once it exists: every UPDATE of `submissions` is here, one
 * function per transition, each guarded by the states it may leave from.
 *
 *   queued ──markSending──▶ sending ──settle──▶ accepted | rejected | failed
 *      ▲                       │ large route: recordInitiated (upload_state initiated),
 *      │                       │   recordUploaded (uploaded), settleLargeSubmission (from the
 *      │                       │   SUBMISSION_NOTIFICATION) ──▶ accepted | rejected
 *      └──requeueFailed─── failed (a replayed dead letter; outcome_unknown)
 *
 * `recordAttempt` appends to the attempt list without changing the status.
 */

type Executor = Db | Transaction<Database>;
type Trx = Transaction<Database>;
type Final = Extract<SubmissionStatus, 'accepted' | 'rejected' | 'failed'>;

/** The states each transition may leave from. */
export const transitionsFrom = {
  sending: ['queued', 'sending'],
  settle: ['queued', 'sending'],
  /** HMRC's SUBMISSION_NOTIFICATION settles only a large submission it has the file of. */
  settleLarge: ['sending'],
  requeue: ['failed'],
} as const satisfies Record<string, readonly SubmissionStatus[]>;

const appendAttempt = (attempt: SubmissionAttempt) => ({
  attempts: sql<string>`attempts || ${JSON.stringify([attempt])}::jsonb`,
  attempt_count: sql<number>`attempt_count + 1`,
});

const responseJson = (response: Record<string, unknown> | null) =>
  response === null ? null : JSON.stringify(response);

/**
 * Moves a submission to `sending` just before a request goes to HMRC. If the process dies
 * mid-request the row stays `sending`, which the next attempt reads as "outcome unknown".
 */
export async function markSending(db: Executor, id: string): Promise<void> {
  await db
    .updateTable('submissions')
    .set({ status: 'sending', updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', 'in', transitionsFrom.sending)
    .execute();
}

/** Appends one attempt; counts it unless it was a 429 (which must not spend attempts). */
export async function recordAttempt(
  db: Executor,
  id: string,
  attempt: SubmissionAttempt,
  changes: {
    outcomeUnknown?: boolean;
    counts?: boolean;
    response?: Record<string, unknown> | null;
    /** HMRC's answer as it came, when HMRC answered. */
    reply?: HmrcReply;
  } = {},
): Promise<void> {
  await db
    .updateTable('submissions')
    .set({
      attempts: sql`attempts || ${JSON.stringify([attempt])}::jsonb`,
      attempt_count: changes.counts === false ? sql`attempt_count` : sql`attempt_count + 1`,
      updated_at: sql`now()`,
      ...(changes.outcomeUnknown !== undefined ? { outcome_unknown: changes.outcomeUnknown } : {}),
      ...(changes.response !== undefined ? { hmrc_response: responseJson(changes.response) } : {}),
      ...replyColumn(changes.reply),
    })
    .where('id', '=', id)
    .execute();
}

const replyColumn = (reply: HmrcReply | undefined) =>
  reply === undefined ? {} : { hmrc_reply: JSON.stringify(reply) };

/** What HMRC's 202 told us about the movement and message. */
export interface HmrcAcceptance {
  attempt?: SubmissionAttempt;
  response?: Record<string, unknown> | null;
  movementId?: string | null;
  messageId?: string | null;
  boxId?: string | null;
  requestId?: string | null;
  /** HMRC's answer as it came (status, content type, body), for the HMRC-compatible routes. */
  reply?: HmrcReply;
}

/** Final states; each is written once (a settled submission is never moved again). */
export async function settleSubmission(
  trx: Trx,
  submission: Submission,
  status: Final,
  changes: HmrcAcceptance,
): Promise<boolean> {
  const result = await trx
    .updateTable('submissions')
    .set({
      status,
      outcome_unknown: false,
      completed_at: sql`now()`,
      updated_at: sql`now()`,
      ...(changes.attempt !== undefined ? appendAttempt(changes.attempt) : {}),
      ...(changes.response !== undefined ? { hmrc_response: responseJson(changes.response) } : {}),
      ...(changes.movementId != null ? { movement_id: changes.movementId } : {}),
      ...(changes.messageId != null ? { hmrc_message_id: changes.messageId } : {}),
      ...(changes.boxId != null ? { box_id: changes.boxId } : {}),
      ...(changes.requestId != null ? { request_id: changes.requestId } : {}),
      ...replyColumn(changes.reply),
    })
    .where('id', '=', submission.id)
    .where('status', 'in', transitionsFrom.settle)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  // HMRC answered (accepted or rejected): a replayed submission's dead letter is settled.
  if (status !== 'failed')
    await resolveReplayedDeadLetters(trx, [{ kind: 'submit', submissionId: submission.id }]);
  await insertSubmissionEvent(
    trx,
    {
      ...submission,
      movement_id: changes.movementId ?? submission.movement_id,
      hmrc_message_id: changes.messageId ?? submission.hmrc_message_id,
    },
    `submission.${status}`,
    { status },
  );
  return true;
}

/**
 * Large route, step 1 done: HMRC created the movement and handed out an upload form. The
 * submission stays `sending`, now `initiated`, with HMRC's ids and the form.
 */
export async function recordInitiated(
  trx: Trx,
  id: string,
  changes: HmrcAcceptance & { attempt: SubmissionAttempt; uploadRequest: SubmissionUploadRequest },
): Promise<void> {
  await trx
    .updateTable('submissions')
    .set({
      upload_state: 'initiated',
      upload_request: JSON.stringify(changes.uploadRequest),
      movement_id: changes.movementId ?? null,
      hmrc_message_id: changes.messageId ?? null,
      box_id: changes.boxId ?? null,
      request_id: changes.requestId ?? null,
      ...(changes.response !== undefined ? { hmrc_response: responseJson(changes.response) } : {}),
      ...replyColumn(changes.reply),
      outcome_unknown: false,
      ...appendAttempt(changes.attempt),
    })
    .where('id', '=', id)
    .where('status', 'in', transitionsFrom.sending)
    .execute();
}

/**
 * The HMRC-compatible large-message route: the client's file, validated, into a submission HMRC
 * has opened (`initiated`) and that has none yet. False when it already has one (or is not open).
 */
export async function recordUploadedFile(
  db: Executor,
  id: string,
  file: {
    body: Buffer;
    bodySha256: Buffer;
    messageType: string;
    lrn: string | null;
    mrn: string | null;
    messageIdentification: string | null;
  },
): Promise<boolean> {
  const result = await db
    .updateTable('submissions')
    .set({
      body: file.body,
      size_bytes: file.body.length,
      body_sha256: file.bodySha256,
      message_type: file.messageType,
      lrn: file.lrn,
      mrn: file.mrn,
      message_identification: file.messageIdentification,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .where('route', '=', 'large')
    .where('status', 'in', transitionsFrom.settleLarge)
    .where('upload_state', '=', 'initiated')
    .where(sql<boolean>`octet_length(body) = 0`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Large route, step 2 done: the file is at HMRC; its outcome comes as a notification. */
export async function recordUploaded(
  db: Executor,
  id: string,
  attempt: SubmissionAttempt,
): Promise<void> {
  await db
    .updateTable('submissions')
    .set({ upload_state: 'uploaded', updated_at: sql`now()`, ...appendAttempt(attempt) })
    .where('id', '=', id)
    .where('upload_state', '=', 'initiated')
    .execute();
}

/**
 * A SUBMISSION_NOTIFICATION reports the outcome of a large upload: it settles the submission
 * still `sending` for that movement and message (accepted on SUCCESS, rejected otherwise, with
 * HMRC's response). Returns how many moved.
 */
export async function settleLargeSubmission(
  trx: Trx,
  outcome: {
    movementType: 'departure' | 'arrival';
    movementId: string;
    messageId: string;
    response: Record<string, unknown> & { code?: unknown };
  },
): Promise<number> {
  const success = outcome.response.code === 'SUCCESS';
  const settled = await trx
    .updateTable('submissions')
    .set({
      status: success ? 'accepted' : 'rejected',
      hmrc_response: JSON.stringify(outcome.response),
      completed_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where('movement_type', '=', outcome.movementType)
    .where('movement_id', '=', outcome.movementId)
    .where('hmrc_message_id', '=', outcome.messageId)
    .where('status', 'in', transitionsFrom.settleLarge)
    .returning(['id', 'eori', 'message_type'])
    .execute();
  await resolveReplayedDeadLetters(
    trx,
    settled.map((submission) => ({ kind: 'submit', submissionId: submission.id }) as const),
  );
  for (const submission of settled)
    await insertSubmissionEvent(
      trx,
      {
        id: submission.id,
        eori: submission.eori,
        movement_type: outcome.movementType,
        movement_id: outcome.movementId,
        hmrc_message_id: outcome.messageId,
        message_type: submission.message_type,
      },
      success ? 'submission.accepted' : 'submission.rejected',
      { response: outcome.response },
    );
  return settled.length;
}

/**
 * Gives a submission up: `failed`, and a `submit` dead letter holding every attempt, in one
 * transaction. Failing again after a replay reopens the letter; the history is the whole attempt
 * list, which only grows, so taking the new one appends the replay's attempts.
 */
export async function failSubmission(
  db: Db,
  id: string,
  failure: { queue: string; jobId: string | null; errorCode: string; errorMessage: string },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const fresh = await trx
      .selectFrom('submissions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (fresh === undefined) return false;
    const settled = await settleSubmission(trx, fresh, 'failed', {});
    if (!settled) return false;
    await recordDeadLetters(
      trx,
      [
        {
          subject: { kind: 'submit', submissionId: id },
          queue: failure.queue,
          jobId: failure.jobId,
          errorCode: failure.errorCode,
          errorMessage: failure.errorMessage,
          history: fresh.attempts.map((attempt) => ({
            at: attempt.at,
            code: attempt.outcome,
            message: attempt.error ?? `HTTP ${attempt.httpStatus}`,
            attempt: attempt.attempt,
          })),
          payload: { submissionId: id },
          eori: fresh.eori,
          movementType: fresh.movement_type,
          movementId: fresh.movement_id,
          messageId: null,
        },
      ],
      { history: 'replace' },
    );
    return true;
  });
}

/**
 * A replayed `submit` dead letter: the failed submission goes back to `queued` with
 * `outcome_unknown` (an earlier attempt may have reached HMRC, so the next attempt looks there
 * before sending). Returns why it could not, having changed nothing.
 */
export async function requeueFailedSubmission(
  trx: Trx,
  id: string,
): Promise<{ skip: string } | undefined> {
  const requeued = await trx
    .updateTable('submissions')
    .set({ status: 'queued', outcome_unknown: true, completed_at: null, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', 'in', transitionsFrom.requeue)
    .returning(['id', 'eori', 'movement_type', 'movement_id', 'message_type', 'hmrc_message_id'])
    .executeTakeFirst();
  if (requeued === undefined) {
    const current = await trx
      .selectFrom('submissions')
      .select('status')
      .where('id', '=', id)
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
}
