import {
  failSubmission,
  getSubmission,
  markSending,
  recordAttempt,
  recordInitiated,
  recordUploaded,
  settleSubmission,
  storeInTransaction,
  type EnrollmentConflict,
  type HmrcReply,
  type IngestRecord,
  type Submission,
  type SubmissionAttempt,
} from '@ctc-hub/db';
import {
  describeHmrcError,
  hmrcReplyOf,
  submissionOutcome,
  type CtcApiVersion,
  type HmrcError,
  type SubmissionAccepted,
} from '@ctc-hub/hmrc-client';
import { deriveMovementStatus, parseNctsMessage } from '@ctc-hub/ncts';
import { movementPath } from '@ctc-hub/ppns';
import { submitData } from '@ctc-hub/queue';
import { SpanKind, withSpan } from '@ctc-hub/telemetry';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { reportMismatch, withMismatchCounter } from '../connections/mismatch.js';
import { messageFacts } from '../inbound/records.js';
import { connectionMayAct } from '../connections/verify.js';
import { findAtHmrc } from './find-at-hmrc.js';
import { RetryLater, type HmrcDeps } from '../runtime/deps.js';

/** The trader's connection may not be used (a person must act): fail now, do not retry. */
class ConnectionRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionRefused';
  }
}

type SubmitResult = { status: string; movementId?: string | null; messageId?: string | null };

const attemptOf = (
  number: number,
  started: number,
  outcome: string,
  httpStatus: number | null,
  error: string | null,
): SubmissionAttempt => ({
  attempt: number,
  at: new Date(started).toISOString(),
  durationMs: Date.now() - started,
  httpStatus,
  outcome,
  error,
});

/**
 * HMRC's upload URL is not one we may send a declaration to (HMRC_UPLOAD_HOSTS, https): no
 * retry can change the URL, so the submission fails at once with a dead letter naming the host.
 * HMRC's movement stays Pending; once the host is allowed, replaying the letter uploads to it.
 */
class UploadRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadRefused';
  }
}

const httpStatusOf = (error: HmrcError): number | null =>
  'status' in error && typeof error.status === 'number' ? error.status : null;

/** HMRC's error body as the client sees it: `{ code, message, validationErrors }`. */
const responseOf = (error: HmrcError): Record<string, unknown> => ({
  ...(httpStatusOf(error) !== null ? { status: httpStatusOf(error) } : {}),
  ...('code' in error && error.code !== undefined ? { code: error.code } : {}),
  message: error.message,
  ...('validationErrors' in error && error.validationErrors !== undefined
    ? { validationErrors: error.validationErrors }
    : {}),
});

/**
 * `submit`: sends one outbox row to HMRC, exactly as HMRC requires, and never twice.
 *
 * - 202 → accepted: the movement (and our outbound message) is recorded with HMRC's ids, box and
 *   request, so every later notification for it links to the submission.
 * - 400/403/404/409/413/415 → rejected with HMRC's code, message and validationErrors; not retried.
 * - 401 → one token refresh and one retry.
 * - 429 → the hmrc queue pauses for Retry-After; the attempt is not counted.
 * - 5xx, timeouts, resets → backoff with jitter (SUBMIT_BACKOFF_BASE_MS doubling) up to
 *   SUBMIT_MAX_ATTEMPTS, then failed, kept as a dead letter with every attempt.
 * Whenever an attempt's outcome is unknown (the request may have reached HMRC, or the process
 * died mid-request and left the row `sending`), the next attempt first asks HMRC whether the
 * message arrived, and only resends if it did not.
 */
export function createSubmitProcessor(deps: HmrcDeps) {
  return async (job: Job): Promise<SubmitResult> => {
    const parsed = submitData.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(
        `job data does not match the catalogue: ${parsed.error.message}`,
      );
    const submissionId = parsed.data.submissionId;
    return withSpan(
      'hmrc.submit',
      { 'ctc.submission_id': submissionId },
      async () => {
        const submission = await getSubmission(deps.db, submissionId);
        if (submission === undefined)
          throw new UnrecoverableError(`submission ${submissionId} does not exist`);
        if (submission.status !== 'queued' && submission.status !== 'sending')
          return { status: submission.status };
        const log = deps.logger.child({
          submissionId,
          eori: submission.eori,
          messageType: submission.message_type,
        });
        const isLastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        const settled = (result: SubmitResult): SubmitResult => {
          recordSettled(deps, submission, result.status);
          return result;
        };
        try {
          return settled(await send(deps, submission, log));
        } catch (error) {
          if (error instanceof ConnectionRefused) {
            // Sending with this token would act as another trader: never, whatever the attempt.
            await fail(deps, submission, job, error.message, error.code);
            log.error({ error: error.message }, 'submission not sent: the connection is refused');
            return settled({ status: 'failed' });
          }
          if (error instanceof UploadRefused) {
            await fail(deps, submission, job, error.message, 'UPLOAD_REFUSED');
            log.error({ error: error.message }, 'large declaration not uploaded: host refused');
            return settled({ status: 'failed' });
          }
          if (error instanceof RetryLater && isLastAttempt) {
            // The letter carries the cause (HMRC_UNAVAILABLE, RECONSENT_REQUIRED, …), which is
            // what an operator filters and acts on; that the retries ran out is in the message.
            await fail(
              deps,
              submission,
              job,
              `gave up after ${job.attemptsMade + 1} attempts: ${error.message}`,
              error.code,
            );
            log.error({ error: error.message }, 'submission failed after its last attempt');
            return settled({ status: 'failed' });
          }
          throw error;
        }
      },
      { parent: parsed.data.trace, kind: SpanKind.PRODUCER },
    );
  };
}

/**
 * ctc_submissions_total, ctc_submission_attempts and ctc_submission_answer_seconds for a
 * submission this job settled: accepted or rejected (HMRC answered) or failed (we gave up). A
 * large declaration still `sending` (uploaded, HMRC's verdict to come by notification) is not
 * settled here.
 */
function recordSettled(deps: HmrcDeps, submission: Submission, status: string): void {
  if (status !== 'accepted' && status !== 'rejected' && status !== 'failed') return;
  const labels = { outcome: status, message_type: submission.message_type };
  deps.metrics.submissions.add(1, labels);
  deps.metrics.submissionAttempts.record(submission.attempt_count + 1, { outcome: status });
  if (status !== 'failed')
    deps.metrics.submissionAnswer.record(
      Math.max(0, (Date.now() - submission.created_at.getTime()) / 1000),
      { outcome: status },
    );
}

async function send(
  deps: HmrcDeps,
  submission: Submission,
  log: HmrcDeps['logger'],
): Promise<SubmitResult> {
  // HMRC's large-message route offered to a client (the HMRC-compatible routes): HMRC opened the
  // movement, the client has not uploaded the file to us yet. Nothing to do until it does (the
  // api queues the job again then); the outbox relay's re-runs end here, without any HMRC call.
  if (awaitingUpload(submission)) return waiting(submission);
  const attemptNumber = submission.attempt_count + 1;
  const started = Date.now();
  const tokenResult = await deps.hmrc.tokens.getAccessToken(submission.eori);
  if (!tokenResult.ok && tokenResult.error.kind === 'mismatched')
    throw new ConnectionRefused('CONNECTION_MISMATCHED', tokenResult.error.message);
  if (!tokenResult.ok) {
    await recordAttempt(
      deps.db,
      submission.id,
      attemptOf(attemptNumber, started, 'no-token', null, tokenResult.error.message),
    );
    throw new RetryLater(
      'NO_TOKEN',
      `no usable HMRC token for ${submission.eori}: ${tokenResult.error.message}`,
    );
  }
  let token = tokenResult.accessToken;
  const connectionId = tokenResult.connectionId;

  // Until HMRC's answers have shown whose token this is, look before each declaration: a token
  // filed under the wrong EORI must not send this trader's declaration as another trader.
  // (Every attempt: a rate-limited check ends the attempt without spending it.)
  const mayAct = await connectionMayAct(deps, submission.eori, tokenResult);
  if (!mayAct.ok) {
    if (mayAct.code !== 'CONNECTION_CHECK_FAILED')
      throw new ConnectionRefused(mayAct.code, mayAct.message);
    await recordAttempt(
      deps.db,
      submission.id,
      attemptOf(
        attemptNumber,
        started,
        'check-failed',
        httpStatusOf(mayAct.error),
        `could not check the HMRC connection: ${describeHmrcError(mayAct.error)}`,
      ),
    );
    throw new RetryLater('CONNECTION_CHECK_FAILED', describeHmrcError(mayAct.error));
  }

  if (submission.route === 'large' && submission.upload_state !== null) {
    return uploadLarge(deps, submission, attemptNumber, log);
  }

  // A previous attempt may have reached HMRC: look before sending again.
  const outcomeUnknown =
    submission.outcome_unknown || (submission.status === 'sending' && submission.route === 'small');
  if (outcomeUnknown) {
    let found = await findAtHmrc(deps, submission, token);
    // HMRC refused the token: refresh it once, as for the send itself; when that fails too,
    // its reason (invalid_grant after a sandbox restart) is what the attempt must show.
    let refreshFailure: string | undefined;
    if (!found.ok && found.error.kind === 'unauthorized') {
      const refreshed = await deps.hmrc.tokens.forceRefresh(submission.eori, token);
      if (refreshed.ok) {
        token = refreshed.accessToken;
        found = await findAtHmrc(deps, submission, token);
      } else {
        refreshFailure = refreshed.error.message;
      }
    }
    if (!found.ok) {
      if (found.error.kind === 'rate-limited')
        return rateLimited(deps, submission, attemptNumber, started, found.error);
      const described =
        refreshFailure === undefined
          ? describeHmrcError(found.error)
          : `${describeHmrcError(found.error)}; refreshing the token failed: ${refreshFailure}`;
      await recordAttempt(
        deps.db,
        submission.id,
        attemptOf(attemptNumber, started, 'check-failed', httpStatusOf(found.error), described),
        { outcomeUnknown: true },
      );
      throw new RetryLater(
        refreshFailure === undefined ? 'CHECK_FAILED' : 'RECONSENT_REQUIRED',
        `could not check whether HMRC has the submission: ${described}`,
      );
    }
    if (found.found !== null) {
      log.warn(
        { movementId: found.found.movementId, messageId: found.found.messageId },
        'HMRC already had the submission: not sending it again',
      );
      return accept(
        deps,
        submission,
        {
          movementType: submission.movement_type,
          movementId: found.found.movementId,
          messageId: found.found.messageId,
        },
        attemptOf(attemptNumber, started, 'found-at-hmrc', null, null),
        { foundAtHmrc: true, connectionId },
      );
    }
    log.info('HMRC does not have the submission: sending it again');
  }

  await markSending(deps.db, submission.id);
  // HMRC's own answer, kept for the HMRC-compatible routes, which hand it on as it came.
  let reply: HmrcReply | undefined;
  const onReply = (response: Parameters<typeof hmrcReplyOf>[0]) => {
    reply = hmrcReplyOf(response);
  };
  const apiVersion = submission.api_version as CtcApiVersion;
  const post = () =>
    isResubmission(submission)
      ? deps.hmrc.ctc.resubmitArrival({
          arrivalId: submission.movement_id!,
          xml: submission.body,
          token,
          onReply,
        })
      : submission.route === 'large'
        ? deps.hmrc.ctc.initiateLargeMessage({
            type: submission.movement_type,
            ...(isFollowUp(submission) ? { movementId: submission.movement_id! } : {}),
            token,
            apiVersion,
            onReply,
          })
        : deps.hmrc.ctc.submitMessage({
            type: submission.movement_type,
            ...(isFollowUp(submission) ? { movementId: submission.movement_id! } : {}),
            xml: submission.body,
            token,
            apiVersion,
            onReply,
          });
  let result = await post();
  /** Why the token HMRC refused could not be replaced, when it could not. */
  let refreshFailure: string | undefined;
  if (!result.ok && result.error.kind === 'unauthorized') {
    const refreshed = await deps.hmrc.tokens.forceRefresh(submission.eori, token);
    if (refreshed.ok) {
      token = refreshed.accessToken;
      result = await post();
    } else {
      refreshFailure = refreshed.error.message;
    }
  }

  if (result.ok) {
    if (submission.route === 'large') {
      return initiated(
        deps,
        submission,
        result.accepted,
        attemptNumber,
        started,
        log,
        connectionId,
        reply,
      );
    }
    log.info(
      { movementId: result.accepted.movementId, messageId: result.accepted.messageId },
      'HMRC accepted the submission',
    );
    return accept(
      deps,
      submission,
      result.accepted,
      attemptOf(attemptNumber, started, 'accepted', 202, null),
      { connectionId, ...(reply === undefined ? {} : { reply }) },
    );
  }

  const error = result.error;
  if (error.kind === 'rate-limited')
    return rateLimited(deps, submission, attemptNumber, started, error);
  const outcome = submissionOutcome(error);
  if (outcome === 'rejected' && error.kind !== 'unauthorized') {
    log.warn(
      { status: httpStatusOf(error), code: 'code' in error ? error.code : undefined },
      'HMRC rejected the submission',
    );
    await deps.db.transaction().execute((trx) =>
      settleSubmission(trx, submission, 'rejected', {
        attempt: attemptOf(attemptNumber, started, 'rejected', httpStatusOf(error), error.message),
        response: responseOf(error),
        ...(reply === undefined ? {} : { reply }),
      }),
    );
    return { status: 'rejected' };
  }
  // Transient (5xx, timeout, reset, a second 401): retry later, checking HMRC first if the
  // request may have arrived. A 401 whose token could not be refreshed says why (invalid_grant
  // after a sandbox restart): that, not the 401, is what someone must act on.
  const described =
    refreshFailure === undefined
      ? describeHmrcError(error)
      : `${describeHmrcError(error)}; refreshing the token failed: ${refreshFailure}`;
  await recordAttempt(
    deps.db,
    submission.id,
    attemptOf(
      attemptNumber,
      started,
      outcome === 'unknown' ? 'unknown' : 'retry',
      httpStatusOf(error),
      described,
    ),
    {
      outcomeUnknown: outcome === 'unknown',
      response: responseOf(error),
      ...(reply === undefined ? {} : { reply }),
    },
  );
  log.warn({ outcome, error: described }, 'submission attempt failed; will retry');
  throw new RetryLater(
    refreshFailure === undefined ? error.kind.toUpperCase() : 'RECONSENT_REQUIRED',
    described,
  );
}

const isFollowUp = (submission: Submission) =>
  submission.message_type !== 'IE015' && submission.message_type !== 'IE007';

/** API 1.0's PUT /arrivals/{arrivalId}: an IE007 sent again for an existing arrival. */
const isResubmission = (submission: Submission) =>
  submission.message_type === 'IE007' && submission.movement_id !== null;

async function rateLimited(
  deps: HmrcDeps,
  submission: Submission,
  attemptNumber: number,
  started: number,
  error: Extract<HmrcError, { kind: 'rate-limited' }>,
): Promise<never> {
  await recordAttempt(
    deps.db,
    submission.id,
    attemptOf(attemptNumber, started, 'rate-limited', 429, `Retry-After ${error.retryAfterMs} ms`),
    { counts: false },
  );
  await deps.rateLimit(error.retryAfterMs);
  throw Worker.RateLimitError();
}

/**
 * Accepted: settle the submission and record the movement and our outbound message (HMRC's
 * ids, box, request) in one transaction, so inbound notifications for the movement link to it.
 */
async function accept(
  deps: HmrcDeps,
  submission: Submission,
  accepted: SubmissionAccepted,
  attempt: SubmissionAttempt,
  options: {
    foundAtHmrc?: boolean;
    hmrcStatus?: string;
    keepSending?: boolean;
    connectionId?: string | null;
    reply?: HmrcReply;
  } = {},
): Promise<SubmitResult> {
  const requestId = movementPath(submission.movement_type, accepted.movementId);
  const record = outboundRecord(
    submission,
    accepted,
    options.hmrcStatus ?? 'Success',
    options.connectionId ?? null,
  );
  let conflict: EnrollmentConflict | undefined;
  await deps.db.transaction().execute(async (trx) => {
    if (record !== undefined) {
      const [outcome] = await storeInTransaction(trx, [record], deriveMovementStatus);
      conflict = outcome?.enrollmentConflict;
    }
    const changes = {
      attempt,
      response: {
        ...(accepted as unknown as Record<string, unknown>),
        ...(options.foundAtHmrc === true ? { foundAtHmrc: true } : {}),
      },
      movementId: accepted.movementId,
      messageId: accepted.messageId ?? null,
      boxId: accepted.boxId ?? null,
      requestId,
      ...(options.reply === undefined ? {} : { reply: options.reply }),
    };
    if (options.keepSending === true) {
      if (accepted.uploadRequest === undefined)
        throw new UnrecoverableError('large-message response has no upload request');
      await recordInitiated(trx, submission.id, {
        ...changes,
        uploadRequest: accepted.uploadRequest,
      });
    } else {
      await settleSubmission(trx, submission, 'accepted', changes);
    }
  });
  // HMRC had already reported this movement under another enrolment (its push came first): the
  // token that sent our declaration is someone else's.
  if (conflict !== undefined)
    await reportMismatch(withMismatchCounter(deps), {
      connectionId: conflict.connectionId,
      eori: submission.eori,
      observedEori: conflict.hmrcEori,
      detail: conflict.detail,
    });
  return {
    status: options.keepSending === true ? 'sending' : 'accepted',
    movementId: accepted.movementId,
    messageId: accepted.messageId ?? null,
  };
}

/** Our outbound message as a stored message of the movement (HMRC lists it too). */
function outboundRecord(
  submission: Submission,
  accepted: SubmissionAccepted,
  hmrcStatus: string,
  connectionId: string | null,
): IngestRecord | undefined {
  if (accepted.messageId === undefined) return undefined;
  const parsed = parseNctsMessage(submission.body, { maxBytes: submission.body.length + 1 });
  if (!parsed.ok) return undefined;
  const facts = messageFacts({
    movementType: submission.movement_type,
    movementId: accepted.movementId,
    messageId: accepted.messageId,
    body: submission.body,
    parsed,
    source: 'submission',
    receivedAt: new Date(),
    boxId: accepted.boxId ?? null,
    // Our claim: HMRC files the movement under the enrolment of the token that sent it, which its
    // notifications then report (a contradiction quarantines the movement).
    enrollmentEori: submission.eori,
    enrollmentVerified: false,
    viaConnection: connectionId,
    apiVersion: submission.api_version,
    claimedType: submission.message_type,
  });
  facts.message.direction = 'outbound';
  facts.message.hmrcStatus = hmrcStatus;
  return { kind: 'message', notification: null, notificationRef: null, ...facts };
}

/** Large route, step 1 done: HMRC created the movement and gave us an upload form. */
async function initiated(
  deps: HmrcDeps,
  submission: Submission,
  accepted: SubmissionAccepted,
  attemptNumber: number,
  started: number,
  log: HmrcDeps['logger'],
  connectionId: string | null,
  reply: HmrcReply | undefined,
): Promise<SubmitResult> {
  log.info(
    { movementId: accepted.movementId, messageId: accepted.messageId },
    'large-message route initiated; uploading',
  );
  await accept(
    deps,
    submission,
    accepted,
    attemptOf(attemptNumber, started, 'initiated', 202, null),
    {
      hmrcStatus: 'Pending',
      keepSending: true,
      connectionId,
      ...(reply === undefined ? {} : { reply }),
    },
  );
  const fresh = (await getSubmission(deps.db, submission.id))!;
  return uploadLarge(deps, fresh, attemptNumber + 1, log);
}

/**
 * Large route, step 2: the multipart upload (fields, then the file). Only the upload is retried,
 * never the initiation (that would open a second movement). The final status arrives with the
 * SUBMISSION_NOTIFICATION, which the ingest path settles.
 */
const awaitingUpload = (submission: Submission) =>
  submission.route === 'large' &&
  submission.upload_state === 'initiated' &&
  submission.body.length === 0;

const waiting = (submission: Submission): SubmitResult => ({
  status: 'sending',
  movementId: submission.movement_id,
  messageId: submission.hmrc_message_id,
});

async function uploadLarge(
  deps: HmrcDeps,
  submission: Submission,
  attemptNumber: number,
  log: HmrcDeps['logger'],
): Promise<SubmitResult> {
  if (awaitingUpload(submission)) return waiting(submission);
  if (submission.upload_state === 'uploaded')
    return {
      status: 'sending',
      movementId: submission.movement_id,
      messageId: submission.hmrc_message_id,
    };
  if (submission.upload_request === null)
    throw new UnrecoverableError('large-message submission has no upload request');
  const started = Date.now();
  const upload = await deps.hmrc.ctc.uploadLargeMessage(submission.upload_request, submission.body);
  if (!upload.ok) {
    const refusedHere = upload.error.kind === 'refused';
    await recordAttempt(
      deps.db,
      submission.id,
      attemptOf(
        attemptNumber,
        started,
        refusedHere ? 'upload-refused' : 'upload-failed',
        httpStatusOf(upload.error),
        describeHmrcError(upload.error),
      ),
    );
    if (refusedHere) throw new UploadRefused(describeHmrcError(upload.error));
    throw new RetryLater('UPLOAD_FAILED', describeHmrcError(upload.error));
  }
  await recordUploaded(
    deps.db,
    submission.id,
    attemptOf(attemptNumber, started, 'uploaded', upload.status, null),
  );
  log.info(
    { movementId: submission.movement_id },
    'large message uploaded; waiting for the SUBMISSION_NOTIFICATION',
  );
  return {
    status: 'sending',
    movementId: submission.movement_id,
    messageId: submission.hmrc_message_id,
  };
}

async function fail(
  deps: HmrcDeps,
  submission: Submission,
  job: Job,
  message: string,
  errorCode: string,
): Promise<void> {
  await failSubmission(deps.db, submission.id, {
    queue: job.queueName,
    jobId: job.id ?? null,
    errorCode,
    errorMessage: message,
  });
}
