import { createHash } from 'node:crypto';
import { createSubmission, type CreateSubmissionResult, type MovementType } from '@ctc-hub/db';
import { smallMessageMaxBytes } from '@ctc-hub/hmrc-client';
import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import { currentTraceCarrier } from '@ctc-hub/telemetry';
import { unusableConnection, type UnusableConnection } from '../connections/not-connected.js';
import type { ApiDeps } from '../deps.js';
import type { ValidSubmission } from './validate.js';

/**
 * The one way a validated declaration enters the outbox, for /v1 and for the HMRC-compatible
 * routes alike: stored exactly once (Idempotency-Key, or the same body from the same trader within
 * 24 h, returns the existing row), then queued for the worker, which sends it inside the shared
 * HMRC budget with its retries and check-before-resend. A new row is refused while the EORI
 * cannot reach HMRC, but a repeat of an earlier one still finds it.
 */

/** Idempotency-Key: 1 to 255 printable ASCII characters. */
export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

export interface SubmissionToRecord {
  eori: string;
  apiKeyId: string;
  idempotencyKey: string | null;
  xml: Buffer;
  movementType: MovementType;
  /** Follow-ups (and API 1.0's PUT): the movement the message is for. */
  movementId: string | null;
  message: ValidSubmission;
  /** The CTC Traders API version the message is written for and will be sent with. */
  apiVersion: string;
  /**
   * 'large' with an empty body: HMRC's large-message route opened for a client that uploads the
   * file afterwards (hmrc-compat/upload.ts). Otherwise decided by the size.
   */
  route?: 'large';
}

export type RecordResult =
  | Exclude<CreateSubmissionResult, { kind: 'not-created' }>
  /** Nothing to repeat and the EORI cannot reach HMRC: nothing stored. */
  | { kind: 'unusable'; connection: UnusableConnection };

export async function recordSubmission(
  deps: ApiDeps,
  input: SubmissionToRecord,
): Promise<RecordResult> {
  const { eori, xml, message } = input;
  const unusable = await unusableConnection(deps, eori);
  const result = await createSubmission(deps.db, {
    eori,
    apiKeyId: input.apiKeyId,
    idempotencyKey: input.idempotencyKey,
    bodySha256: createHash('sha256').update(xml).digest(),
    movementType: input.movementType,
    messageType: message.messageType,
    movementId: input.movementId,
    lrn: message.lrn,
    mrn: message.mrn,
    messageIdentification: message.messageIdentification,
    apiVersion: input.apiVersion,
    route: input.route ?? (xml.length > smallMessageMaxBytes ? 'large' : 'small'),
    body: xml,
    mayCreate: unusable === undefined,
    maxInFlightForKey: deps.config.SUBMISSION_MAX_IN_FLIGHT_PER_KEY,
  });
  if (result.kind === 'not-created') return { kind: 'unusable', connection: unusable! };
  if (result.kind !== 'created') return result;

  const submission = result.submission;
  try {
    await addJob(
      deps.hmrcQueue,
      jobs.submit,
      { submissionId: submission.id, trace: currentTraceCarrier() },
      { jobId: jobIds.submit(submission.id), attempts: deps.config.SUBMIT_MAX_ATTEMPTS },
    );
  } catch (error) {
    // The submission is durable in Postgres; the worker's outbox relay queues it when Redis is back.
    deps.logger.warn(
      { err: error, submissionId: submission.id },
      'could not queue the submission now; the outbox relay will',
    );
  }
  deps.logger.info(
    { submissionId: submission.id, eori, messageType: message.messageType, lrn: message.lrn },
    'submission accepted for sending',
  );
  return result;
}
