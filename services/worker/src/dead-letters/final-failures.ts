import type { ErrorHistoryEntry, IngestRecord } from '@ctc-hub/db';
import { parseEnvelope } from '@ctc-hub/ppns';
import { fetchMessageData, ingestNotificationData } from '@ctc-hub/queue';
import type { Logger } from '@ctc-hub/telemetry';
import type { Job } from 'bullmq';
import type { IngestStore } from '../inbound/store.js';

/** The error of each attempt BullMQ kept, oldest first, as dead-letter history. */
function historyOf(job: Job, error: Error): ErrorHistoryEntry[] {
  const attempts = (job.stacktrace ?? []).map((stack, index) => ({
    at: new Date(job.processedOn ?? Date.now()).toISOString(),
    code: 'ATTEMPT_FAILED',
    message: stack.split('\n', 1)[0] ?? stack,
    attempt: index + 1,
  }));
  attempts.push({
    at: new Date().toISOString(),
    code: error.name,
    message: error.message,
    attempt: job.attemptsMade,
  });
  return attempts;
}

/** True once BullMQ will not run the job again. */
export function isFinalFailure(job: Job, error: Error): boolean {
  return error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/**
 * A job that exhausted its attempts (or failed unrecoverably) becomes a dead letter with its
 * payload and every attempt's error, and the notification it belongs to is marked quarantined:
 * visible through the API and replayable, never silently dropped. If Postgres is down even now,
 * the job stays in BullMQ's failed set (kept for a week) and this is logged.
 */
export async function recordFinalFailure(
  job: Job,
  error: Error,
  store: IngestStore,
  logger: Logger,
): Promise<void> {
  const history = historyOf(job, error);
  let record: IngestRecord | undefined;
  const ingest = ingestNotificationData.safeParse(job.data);
  const fetch = fetchMessageData.safeParse(job.data);
  if (job.queueName.endsWith('ingest') && ingest.success) {
    const data = ingest.data;
    const envelope = parseEnvelope(data.envelope);
    record = {
      kind: 'quarantine',
      notification: {
        notificationId: data.notificationId,
        createdAt: envelope.ok ? envelope.envelope.createdAt : new Date(data.receivedAt),
        boxId: data.boxId,
        source: data.source === 'pull' ? 'pull' : 'push',
        receivedAt: new Date(data.receivedAt),
        envelope: data.envelope,
        payloadVersion: null,
        notificationType: null,
        messageType: null,
        enrollmentEori: null,
        traceId: null,
      },
      notificationRef: null,
      deadLetter: {
        subject: { kind: 'notification', notificationId: data.notificationId },
        queue: job.queueName,
        jobId: job.id ?? null,
        errorCode: 'RETRIES_EXHAUSTED',
        errorMessage: error.message,
        history,
        payload: { envelope: data.envelope, source: data.source, receivedAt: data.receivedAt },
        eori: null,
        movementType: null,
        movementId: null,
        messageId: null,
      },
    };
  } else if (job.name === 'fetch-message' && fetch.success) {
    const data = fetch.data;
    record = {
      kind: 'quarantine',
      notification: null,
      notificationRef:
        data.notificationId !== null && data.notificationCreatedAt !== null
          ? { notificationId: data.notificationId, createdAt: new Date(data.notificationCreatedAt) }
          : null,
      deadLetter: {
        subject: {
          kind: 'fetch-message',
          movementType: data.movementType,
          movementId: data.movementId,
          messageId: data.messageId,
        },
        queue: job.queueName,
        jobId: job.id ?? null,
        errorCode: error.name === 'UnrecoverableError' ? 'FETCH_REFUSED' : 'RETRIES_EXHAUSTED',
        errorMessage: error.message,
        history,
        payload: { job: data },
        eori: data.eori,
        movementType: data.movementType,
        movementId: data.movementId,
        messageId: data.messageId,
      },
    };
  }
  if (record === undefined) {
    logger.error(
      { jobId: job.id, queue: job.queueName, name: job.name, err: error },
      'job failed for good and matches no known kind',
    );
    return;
  }
  try {
    await store.store(record);
    logger.warn(
      { jobId: job.id, queue: job.queueName, error: error.message },
      'job failed for good; kept as a dead letter',
    );
  } catch (storeError) {
    logger.error(
      { jobId: job.id, err: storeError },
      'could not record a dead letter; the job stays in the failed set',
    );
  }
}
