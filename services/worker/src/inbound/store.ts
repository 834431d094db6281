import {
  classifyStoreError,
  sqlStateOf,
  storeIngestBatch,
  type Db,
  type IngestOutcome,
  type IngestRecord,
  type StoreFailure,
} from '@ctc-hub/db';
import { deriveMovementStatus } from '@ctc-hub/ncts';
import { MicroBatcher } from '@ctc-hub/queue';
import {
  withSpan,
  type Counter,
  type Histogram,
  type Logger,
  type Meter,
} from '@ctc-hub/telemetry';
import { reportMismatch } from '../connections/mismatch.js';
import { historyEntry } from './records.js';

/** One record's fate in a flush: its outcome, or the error its own caller must see. */
type Settled = { ok: true; outcome: IngestOutcome } | { ok: false; error: unknown };

/**
 * A record that failed in a transaction of its own: the error is its own, with the SQLSTATE in
 * the text because the text is what a job's failedReason, a dead letter and
 * GET /v1/notifications/{id} show.
 */
export class RecordRefused extends Error {
  constructor(cause: unknown) {
    const sqlState = sqlStateOf(cause);
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `the database refused this record${sqlState === undefined ? '' : ` (SQLSTATE ${sqlState})`}: ${reason}`,
      { cause },
    );
    this.name = 'RecordRefused';
  }
}

/**
 * The ingest writer: jobs call `store(record)` and wait; records are committed in micro-batches
 * (size or wait bound, whichever first).
 *
 * A failed batch is never blamed on its records wholesale. When the database itself failed
 * (connection lost, shutdown, timeout, deadlock: see classifyStoreError) every caller is rejected
 * with that error and its job retries with backoff; no record is quarantined, the rows are fine.
 * Any other failure may belong to one record, so the batch is bisected and the halves retried,
 * down to the record that fails alone: its neighbours commit, and only its own caller sees the
 * failure, with its own error. A record refused for its content (22, 23, 54) is quarantined at
 * once with that error (a retry would be refused the same way); one refused for another reason
 * is rejected, so its job retries with backoff and, once out of attempts, is dead-lettered with
 * its own error by recordFinalFailure.
 */
export class IngestStore {
  private readonly batcher: MicroBatcher<IngestRecord, Settled>;
  private readonly batchSize: Histogram;
  private readonly batchDuration: Histogram;
  private readonly mismatches: Counter | undefined;

  constructor(
    /** Public for small writes that follow a commit (reconcile_state's recovered count). */
    readonly db: Db,
    private readonly logger: Logger,
    options: {
      maxBatch: number;
      maxWaitMs: number;
      maxInFlight?: number;
      meter: Meter;
      /** Counts connections found mismatched by a batch's conflicts (the worker's metric). */
      connectionMismatches?: Counter;
    },
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
    this.mismatches = options.connectionMismatches;
    this.batcher = new MicroBatcher({
      maxSize: options.maxBatch,
      maxWaitMs: options.maxWaitMs,
      maxInFlight: options.maxInFlight ?? 2,
      flush: (records) => this.flush(records),
    });
  }

  async store(record: IngestRecord): Promise<IngestOutcome> {
    const settled = await this.batcher.add(record);
    if (!settled.ok) throw settled.error;
    return settled.outcome;
  }

  async close(): Promise<void> {
    await this.batcher.close();
  }

  private async flush(records: IngestRecord[]): Promise<Settled[]> {
    const attempt = await this.attempt(records);
    if (attempt.ok) return attempt.outcomes.map((outcome) => ({ ok: true, outcome }));
    // The whole batch waits for the database; the MicroBatcher rejects every caller with this.
    if (attempt.failure === 'database') throw attempt.error;
    if (records.length > 1) {
      this.logger.warn(
        { err: attempt.error, size: records.length, failure: attempt.failure },
        'ingest batch refused; splitting it to find the record that caused it',
      );
    }
    return this.isolate(records, attempt.error, attempt.failure);
  }

  /**
   * A batch that quarantined a movement (HMRC reported an enrolment our claim contradicted) has
   * committed; mark the connection behind the claim mismatched. Not awaited: the token row may be
   * locked by a refresh across an HMRC call, and ingest must not wait for it. If this fails, the
   * next check of the connection (sweep, use) finds the mismatch again.
   */
  private reportConflicts(outcomes: readonly IngestOutcome[]): void {
    for (const outcome of outcomes) {
      const conflict = outcome.enrollmentConflict;
      if (conflict === undefined) continue;
      reportMismatch(
        { db: this.db, logger: this.logger, mismatches: this.mismatches },
        {
          connectionId: conflict.connectionId,
          observedEori: conflict.hmrcEori,
          detail: `${conflict.detail} (${conflict.movementType} ${conflict.movementId})`,
        },
      ).catch((error: unknown) =>
        this.logger.error(
          { err: error, movementId: conflict.movementId },
          'could not mark the connection behind a quarantined movement as mismatched',
        ),
      );
    }
  }

  /** One transaction for `records`, timed and traced. */
  private async attempt(
    records: readonly IngestRecord[],
  ): Promise<
    { ok: true; outcomes: IngestOutcome[] } | { ok: false; error: unknown; failure: StoreFailure }
  > {
    const started = process.hrtime.bigint();
    try {
      const outcomes = await withSpan(
        'ingest.store_batch',
        { 'ctc.batch_size': records.length },
        () => storeIngestBatch(this.db, records, deriveMovementStatus),
      );
      this.reportConflicts(outcomes);
      return { ok: true, outcomes };
    } catch (error) {
      return { ok: false, error, failure: classifyStoreError(error) };
    } finally {
      this.batchSize.record(records.length);
      this.batchDuration.record(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * Bisects a refused batch: each half is stored on its own, and a half that fails again is
   * split further, so one bad record among n costs about 2·log2(n) extra transactions and its
   * neighbours still commit. A half that meets a database failure is not split: its callers are
   * rejected with that error and retry later.
   */
  private async isolate(
    records: readonly IngestRecord[],
    error: unknown,
    failure: Exclude<StoreFailure, 'database'>,
  ): Promise<Settled[]> {
    if (records.length === 1) return [await this.settleAlone(records[0]!, error, failure)];
    const middle = Math.ceil(records.length / 2);
    const settled: Settled[] = [];
    for (const half of [records.slice(0, middle), records.slice(middle)]) {
      const attempt = await this.attempt(half);
      if (attempt.ok)
        settled.push(...attempt.outcomes.map((outcome) => ({ ok: true, outcome }) as const));
      else if (attempt.failure === 'database')
        settled.push(...half.map(() => ({ ok: false, error: attempt.error }) as const));
      else settled.push(...(await this.isolate(half, attempt.error, attempt.failure)));
    }
    return settled;
  }

  /** A record that failed in a transaction of its own. */
  private async settleAlone(
    record: IngestRecord,
    error: unknown,
    failure: Exclude<StoreFailure, 'database'>,
  ): Promise<Settled> {
    const refused = new RecordRefused(error);
    // Retried with backoff by its job; a quarantine record that fails has nothing left to
    // quarantine into, so it is retried too (and, for good, left in BullMQ's failed set).
    if (failure !== 'record' || record.kind === 'quarantine') {
      this.logger.error({ err: error, failure }, 'a record failed on its own; its job will retry');
      return { ok: false, error: refused };
    }
    this.logger.error({ err: error }, 'quarantining a record the database refused');
    const attempt = await this.attempt([quarantineOf(record, refused.message)]);
    if (attempt.ok) return { ok: true, outcome: attempt.outcomes[0]! };
    this.logger.error(
      { err: attempt.error },
      'could not quarantine a refused record; its job will retry',
    );
    return { ok: false, error: refused };
  }
}

/** The quarantine record kept for a message or notification the database refused to store. */
function quarantineOf(
  record: Exclude<IngestRecord, { kind: 'quarantine' }>,
  message: string,
): IngestRecord {
  const notification = record.notification;
  const refs = {
    movementType: record.movement.movementType,
    movementId: record.movement.movementId,
    messageId: record.kind === 'message' ? record.message.messageId : record.messageId,
  };
  return {
    kind: 'quarantine',
    notification,
    notificationRef: record.kind === 'message' ? record.notificationRef : null,
    deadLetter: {
      subject:
        notification !== null
          ? { kind: 'notification', notificationId: notification.notificationId }
          : { kind: 'message', ...refs },
      queue: 'ingest',
      jobId: null,
      errorCode: 'STORE_REFUSED',
      errorMessage: message,
      history: [historyEntry('STORE_REFUSED', message)],
      payload: notification !== null ? { envelope: notification.envelope } : { ...refs },
      eori: notification?.enrollmentEori ?? null,
      ...refs,
    },
  };
}
