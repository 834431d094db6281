import { storeIngestBatch, type Db, type IngestOutcome, type IngestRecord } from '@ctc-hub/db';
import { deriveMovementStatus } from '@ctc-hub/ncts';
import { MicroBatcher } from '@ctc-hub/queue';
import { withSpan, type Histogram, type Logger, type Meter } from '@ctc-hub/telemetry';
import { historyEntry } from './records.js';

/** Postgres error classes caused by one record's content rather than by the database's state. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/**
 * The ingest writer: jobs call `store(record)` and wait; records are committed in micro-batches
 * (size or wait bound, whichever first). If a batch fails because of one record's content, the
 * batch is split and retried record by record, and a record that still fails is quarantined with
 * the database's error — one poison message must not stall or fail its neighbours. Failures of
 * the database itself (down, timeout) reject every caller, whose jobs then retry with backoff.
 */
export class IngestStore {
  private readonly batcher: MicroBatcher<IngestRecord, IngestOutcome>;
  private readonly batchSize: Histogram;
  private readonly batchDuration: Histogram;

  constructor(
    /** Public for small writes that follow a commit (reconcile_state's recovered count). */
    readonly db: Db,
    private readonly logger: Logger,
    options: { maxBatch: number; maxWaitMs: number; maxInFlight?: number; meter: Meter },
  ) {
    this.batchSize = options.meter.createHistogram('ctc_ingest_batch_size', {
      description: 'Records committed per ingest transaction',
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 200, 500] },
    });
    this.batchDuration = options.meter.createHistogram('ctc_ingest_batch_duration_seconds', {
      description: 'Duration of one ingest transaction',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      },
    });
    this.batcher = new MicroBatcher({
      maxSize: options.maxBatch,
      maxWaitMs: options.maxWaitMs,
      maxInFlight: options.maxInFlight ?? 2,
      flush: (records) => this.flush(records),
    });
  }

  store(record: IngestRecord): Promise<IngestOutcome> {
    return this.batcher.add(record);
  }

  async close(): Promise<void> {
    await this.batcher.close();
  }

  private async flush(records: IngestRecord[]): Promise<IngestOutcome[]> {
    const started = process.hrtime.bigint();
    try {
      return await withSpan('ingest.store_batch', { 'ctc.batch_size': records.length }, () =>
        storeIngestBatch(this.db, records, deriveMovementStatus),
      );
    } catch (error) {
      if (!isDataError(error) || records.length === 1) throw error;
      this.logger.warn(
        { err: error, size: records.length },
        'batch rejected by the database; storing its records one by one',
      );
      const outcomes: IngestOutcome[] = [];
      for (const record of records) outcomes.push(await this.storeAlone(record));
      return outcomes;
    } finally {
      this.batchSize.record(records.length);
      this.batchDuration.record(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async storeAlone(record: IngestRecord): Promise<IngestOutcome> {
    try {
      const [outcome] = await storeIngestBatch(this.db, [record], deriveMovementStatus);
      return outcome!;
    } catch (error) {
      if (!isDataError(error) || record.kind === 'quarantine') throw error;
      const message = `the database refused this record: ${(error as Error).message}`;
      this.logger.error({ err: error }, 'quarantining a record the database refused');
      const notification = record.notification;
      const refs =
        record.kind === 'message'
          ? {
              movementType: record.movement.movementType,
              movementId: record.movement.movementId,
              messageId: record.message.messageId,
            }
          : {
              movementType: record.movement.movementType,
              movementId: record.movement.movementId,
              messageId: record.messageId,
            };
      const [outcome] = await storeIngestBatch(
        this.db,
        [
          {
            kind: 'quarantine',
            notification,
            notificationRef: record.kind === 'message' ? record.notificationRef : null,
            deadLetter: {
              dedupeKey:
                notification !== null
                  ? `notification:${notification.notificationId}`
                  : `message:${refs.movementType}/${refs.movementId}/${refs.messageId}`,
              kind: notification !== null ? 'notification' : 'message',
              queue: 'ingest',
              jobId: null,
              errorCode: 'STORE_REFUSED',
              errorMessage: message,
              history: [historyEntry('STORE_REFUSED', message)],
              payload: notification !== null ? { envelope: notification.envelope } : { ...refs },
              eori: notification?.enrollmentEori ?? null,
              ...refs,
            },
          },
        ],
        deriveMovementStatus,
      );
      return outcome!;
    }
  }
}
