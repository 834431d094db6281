import { ppnsScope } from '@ctc-hub/db';
import type { NctsParser } from '@ctc-hub/ncts';
import { addJob, ingestNotificationData, jobIds, jobs } from '@ctc-hub/queue';
import { isSpanContextValid, SpanKind, withSpan, type Logger } from '@ctc-hub/telemetry';
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { IngestMetrics } from '../runtime/metrics.js';
import { recordRecovery } from '../reconciliation/recovery.js';
import { decideIngest } from './decide.js';
import type { IngestStore } from './store.js';

export interface IngestProcessorDeps {
  parser: NctsParser;
  store: IngestStore;
  hmrcQueue: Queue;
  logger: Logger;
  metrics: IngestMetrics;
  apiVersion: string;
  /** Attempts given to the fetch jobs this processor queues (FETCH_MAX_ATTEMPTS). */
  fetchAttempts: number;
}

/**
 * Processes one `ingest-notification` job: decide (parse envelope, payload and XML), store in the
 * next micro-batch, then queue a fetch when the body was not inline. The job completes only after
 * its batch committed; if the commit fails the job fails and retries with backoff. The fetch is
 * queued after the commit, and a retry re-queues it (same job id), so a crash between the two
 * cannot lose it.
 */
export function createIngestProcessor(deps: IngestProcessorDeps) {
  return async (job: Job): Promise<{ notification: string | null; status: string | null }> => {
    const parsed = ingestNotificationData.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(
        `job data does not match the catalogue: ${parsed.error.message}`,
      );
    const data = parsed.data;
    return withSpan(
      'ingest.notification',
      { 'ppns.notification_id': data.notificationId, 'messaging.operation': 'process' },
      async (span) => {
        const decision = await decideIngest(data, deps.parser, {
          apiVersion: deps.apiVersion,
          jobId: job.id ?? null,
          // Invalid (all zeros) when tracing is off and PPNS sent no trace context.
          traceId: isSpanContextValid(span.spanContext()) ? span.spanContext().traceId : null,
        });
        const outcome = await deps.store.store(decision.record);
        if (decision.fetch !== null) {
          const fetch = decision.fetch;
          await addJob(deps.hmrcQueue, jobs.fetchMessage, fetch, {
            jobId: jobIds.fetch(fetch.movementType, fetch.movementId, fetch.messageId),
            attempts: deps.fetchAttempts,
          });
        }

        const payload = decision.payload;
        // Plain fields rather than a child logger: pino serialises a child's bindings when it
        // is made, on every job, even when the level below drops the line (the usual case).
        const about = {
          notificationId: data.notificationId,
          ...(payload !== null
            ? {
                movementId: payload.movementId,
                messageId: payload.messageId,
                messageType: payload.messageType,
              }
            : {}),
        };
        deps.metrics.notifications.add(1, { outcome: outcome.notification ?? 'none' });
        if (decision.record.kind === 'message' && outcome.messageStored) {
          const now = Date.now();
          deps.metrics.receivedToStored.record((now - new Date(data.receivedAt).getTime()) / 1000);
          if (decision.record.notification !== null) {
            deps.metrics.createdToStored.record(
              (now - decision.record.notification.createdAt.getTime()) / 1000,
            );
          }
        }
        // Pulled from PPNS and new to us: push had missed it (reconciliation's recovery count).
        if (
          data.source === 'pull' &&
          decision.record.kind === 'message' &&
          outcome.notification === 'stored'
        ) {
          await recordRecovery(
            { db: deps.store.db, logger: deps.logger, metrics: deps.metrics },
            {
              via: 'pull',
              scope: ppnsScope(data.boxId),
              movementType: decision.record.movement.movementType,
              movementId: decision.record.movement.movementId,
              messageId: decision.record.message.messageId,
              messageType: decision.record.message.messageType,
              notificationId: data.notificationId,
            },
          );
        }
        if (decision.record.kind === 'quarantine') {
          deps.logger.warn(
            {
              ...about,
              errorCode: decision.record.deadLetter.errorCode,
              error: decision.record.deadLetter.errorMessage,
            },
            'notification quarantined',
          );
        } else {
          deps.logger.info(
            { ...about, outcome: outcome.notification, status: outcome.movementStatus },
            'notification processed',
          );
        }
        return { notification: outcome.notification, status: outcome.movementStatus };
      },
      { parent: data.trace, kind: SpanKind.CONSUMER },
    );
  };
}
