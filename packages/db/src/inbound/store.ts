import type { Db } from '../connection.js';
import type { DeadLetterSubject } from '../dead-letters/keys.js';
import { recordDeadLetters, resolveReplayedDeadLetters } from '../dead-letters/letters.js';
import { queueForRelay, relayableNotifications } from '../relay/outbox.js';
import { settleLargeSubmission } from '../submissions/transitions.js';
import { messageKey, movementKey, type MovementRow, type Trx } from './batch.js';
import { insertEvents } from './events.js';
import { insertMessages } from './messages.js';
import { firstIndexForMovement, refreshMovementStatus, upsertMovements } from './movements.js';
import { completeQueuedNotifications, insertNotifications } from './notifications.js';
import type { DeriveStatus, IngestOutcome, IngestRecord } from './types.js';

/**
 * Stores a micro-batch of ingest records in ONE transaction: movement upserts, messages (raw
 * bytes), notifications, dead letters, movement status, change-feed events. Either all of it is
 * committed or none, so a job is acknowledged only for rows that exist.
 *
 * Idempotency comes from unique keys with ON CONFLICT (notification id; movement + message id;
 * dead-letter key), so replays, PPNS duplicates and concurrent batches leave one row each. Rows
 * are written in key order so concurrent batches lock in the same order; a deadlock or
 * serialization failure that slips through is retried with the whole batch.
 */
export async function storeIngestBatch(
  db: Db,
  records: readonly IngestRecord[],
  deriveStatus: DeriveStatus,
): Promise<IngestOutcome[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db
        .transaction()
        .execute((trx) => storeInTransaction(trx, records, deriveStatus));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt < 4 && (code === '40P01' || code === '40001')) continue;
      throw error;
    }
  }
}

/**
 * The body of storeIngestBatch for callers that already hold a transaction (accepting a
 * submission stores its outbound message atomically with the submission's new status).
 */
export async function storeInTransaction(
  trx: Trx,
  records: readonly IngestRecord[],
  deriveStatus: DeriveStatus,
): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = records.map(() => ({
    notification: null,
    messageStored: false,
    movementCreated: false,
    movementStatus: null,
  }));

  const movements = await upsertMovements(trx, records, deriveStatus);
  const insertedMessages = await insertMessages(trx, records, movements);

  // The first record carrying a given message "owns" its insert; later ones in the batch (and
  // every record whose message existed before) are duplicates.
  const owners = new Map<string, number>();
  records.forEach((record, index) => {
    if (record.kind !== 'message') return;
    const key = messageKey(
      record.movement.movementType,
      record.movement.movementId,
      record.message.messageId,
    );
    if (insertedMessages.has(key) && !owners.has(key)) owners.set(key, index);
  });
  const ownerIndexes = new Set(owners.values());
  const ownsInsert = (index: number) => ownerIndexes.has(index);
  records.forEach((record, index) => {
    if (record.kind === 'message') outcomes[index]!.messageStored = ownsInsert(index);
  });

  await insertNotifications(trx, records, outcomes, ownsInsert);
  await completeQueuedNotifications(trx, records, outcomes);
  await queueForRelay(trx, relayableNotifications(records, outcomes));
  await settleLargeSubmissions(trx, records, outcomes, movements);
  await upsertDeadLetters(trx, records);
  await resolveReplayedDeadLetters(trx, deadLettersSettledBy(records));
  const statusChanges = await refreshMovementStatus(
    trx,
    records,
    movements,
    insertedMessages,
    deriveStatus,
  );

  records.forEach((record, index) => {
    if (record.kind === 'quarantine') return;
    const key = movementKey(record.movement.movementType, record.movement.movementId);
    const movement = movements.get(key);
    outcomes[index]!.movementCreated =
      movement?.inserted === true && firstIndexForMovement(records, key) === index;
    outcomes[index]!.movementStatus = statusChanges.get(key)?.to ?? movement?.status ?? null;
    if (movement?.conflict !== undefined && firstIndexForMovement(records, key) === index)
      outcomes[index]!.enrollmentConflict = movement.conflict;
  });

  await insertEvents(trx, records, outcomes, movements, statusChanges);
  return outcomes;
}

/**
 * A SUBMISSION_NOTIFICATION reports the outcome of a large-message upload: it settles our
 * submission (accepted on SUCCESS, rejected otherwise, with HMRC's response) and the HMRC status
 * of the outbound message we recorded when uploading. Only a submission still `sending` moves.
 */
async function settleLargeSubmissions(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
  movements: Map<string, MovementRow>,
): Promise<void> {
  for (const [index, record] of records.entries()) {
    if (record.kind !== 'submission-result' || outcomes[index]!.notification !== 'stored') continue;
    const success = record.response.code === 'SUCCESS';
    const { movementType, movementId } = record.movement;
    const month = movements.get(movementKey(movementType, movementId))?.retention_month;
    if (month !== undefined) {
      await trx
        .updateTable('messages')
        .set({ hmrc_status: success ? 'Success' : 'Failed' })
        .where('movement_month', '=', month)
        .where('movement_type', '=', movementType)
        .where('movement_id', '=', movementId)
        .where('message_id', '=', record.messageId)
        .execute();
    }
    await settleLargeSubmission(trx, {
      movementType,
      movementId,
      messageId: record.messageId,
      response: record.response,
    });
  }
}

async function upsertDeadLetters(trx: Trx, records: readonly IngestRecord[]): Promise<void> {
  await recordDeadLetters(
    trx,
    records.flatMap((record) =>
      record.kind === 'quarantine'
        ? [
            {
              ...record.deadLetter,
              notificationId:
                record.notification?.notificationId ??
                record.notificationRef?.notificationId ??
                null,
              boxId: record.notification?.boxId ?? null,
            },
          ]
        : [],
    ),
  );
}

/**
 * The dead letters an ingest batch settles when it commits: a stored (or duplicate) message
 * completes its notification and its fetch; a SUBMISSION_NOTIFICATION completes its
 * notification. A notification that is merely waiting for a fetch settles nothing yet.
 */
function deadLettersSettledBy(records: readonly IngestRecord[]): DeadLetterSubject[] {
  const subjects: DeadLetterSubject[] = [];
  for (const record of records) {
    if (record.kind !== 'message' && record.kind !== 'submission-result') continue;
    const notificationId =
      record.notification?.notificationId ??
      (record.kind === 'message' ? record.notificationRef?.notificationId : undefined);
    if (notificationId !== undefined) subjects.push({ kind: 'notification', notificationId });
    if (record.kind === 'message') {
      const { movementType, movementId } = record.movement;
      subjects.push({
        kind: 'fetch-message',
        movementType,
        movementId,
        messageId: record.message.messageId,
      });
    }
  }
  return subjects;
}
