import { sql } from 'kysely';
import type { MovementType } from '../schema/movements.table.js';
import type { NotificationStatus } from '../schema/notifications.table.js';
import type { IngestOutcome, IngestRecord, NotificationFacts } from './types.js';
import { unnestRows, type Trx, type UnnestColumn } from './batch.js';

type NotificationRow = ReturnType<typeof notificationRow>;

const notificationColumns: UnnestColumn<NotificationRow>[] = [
  { name: 'notification_id', type: 'uuid' },
  { name: 'created_at', type: 'timestamptz' },
  { name: 'box_id', type: 'uuid' },
  { name: 'source', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'payload_version', type: 'text' },
  { name: 'notification_type', type: 'text' },
  { name: 'movement_type', type: 'text' },
  { name: 'movement_id', type: 'text' },
  { name: 'message_id', type: 'text' },
  { name: 'message_type', type: 'text' },
  { name: 'enrollment_eori', type: 'text' },
  { name: 'envelope', type: 'text', pass: 'each' },
  { name: 'error', type: 'text' },
  { name: 'error_history', type: 'jsonb', pass: 'each' },
  { name: 'received_at', type: 'timestamptz' },
  { name: 'trace_id', type: 'text' },
];

/** INSERT INTO notifications (…) SELECT … FROM unnest(…): see unnestRows. */
const insertRows = (trx: Trx, rows: NotificationRow[]) =>
  trx
    .insertInto('notifications')
    .columns(notificationColumns.map((column) => column.name))
    .expression(unnestRows(rows, notificationColumns));

function notificationRow(
  facts: NotificationFacts,
  record: IngestRecord,
  status: NotificationStatus,
  error: string | null,
) {
  const movement = record.kind === 'quarantine' ? null : record.movement;
  const messageId =
    record.kind === 'message'
      ? record.message.messageId
      : record.kind === 'quarantine'
        ? record.deadLetter.messageId
        : record.messageId;
  return {
    notification_id: facts.notificationId,
    created_at: facts.createdAt,
    box_id: facts.boxId,
    source: facts.source,
    status,
    payload_version: facts.payloadVersion,
    notification_type: facts.notificationType,
    movement_type:
      movement?.movementType ??
      ((record.kind === 'quarantine'
        ? record.deadLetter.movementType
        : null) as MovementType | null),
    movement_id:
      movement?.movementId ?? (record.kind === 'quarantine' ? record.deadLetter.movementId : null),
    message_id: messageId,
    message_type:
      record.kind === 'message'
        ? (record.message.messageType ?? facts.messageType)
        : facts.messageType,
    enrollment_eori: facts.enrollmentEori,
    envelope: facts.envelope,
    error,
    error_history: JSON.stringify(record.kind === 'quarantine' ? record.deadLetter.history : []),
    received_at: facts.receivedAt,
    trace_id: facts.traceId,
  };
}

export async function insertNotifications(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
  ownsInsert: (index: number) => boolean,
): Promise<void> {
  const plain: { index: number; row: ReturnType<typeof notificationRow> }[] = [];
  const quarantined: { index: number; row: ReturnType<typeof notificationRow> }[] = [];
  const seen = new Set<string>();
  records.forEach((record, index) => {
    const facts = record.notification;
    if (facts === null) return;
    if (seen.has(facts.notificationId)) {
      outcomes[index]!.notification = 'redelivered';
      return;
    }
    seen.add(facts.notificationId);
    if (record.kind === 'quarantine') {
      quarantined.push({
        index,
        row: notificationRow(facts, record, 'quarantined', record.deadLetter.errorMessage),
      });
      return;
    }
    const status: NotificationStatus =
      record.kind === 'awaiting-fetch'
        ? 'queued'
        : record.kind === 'message' && !ownsInsert(index)
          ? 'duplicate'
          : 'stored';
    plain.push({ index, row: notificationRow(facts, record, status, null) });
  });

  const byId = (entries: typeof plain) =>
    entries.sort((a, b) => (a.row.notification_id < b.row.notification_id ? -1 : 1));

  if (plain.length > 0) {
    // A notification quarantined before and now processed (a replay after its cause was fixed)
    // takes the new verdict; any other existing row is a redelivery and stays as it is.
    const returned = await insertRows(
      trx,
      byId(plain).map((entry) => entry.row),
    )
      .onConflict((oc) =>
        oc
          .columns(['notification_id', 'created_at'])
          .doUpdateSet({
            status: sql`EXCLUDED.status`,
            payload_version: sql`EXCLUDED.payload_version`,
            notification_type: sql`EXCLUDED.notification_type`,
            movement_type: sql`EXCLUDED.movement_type`,
            movement_id: sql`EXCLUDED.movement_id`,
            message_id: sql`EXCLUDED.message_id`,
            message_type: sql`EXCLUDED.message_type`,
            enrollment_eori: sql`EXCLUDED.enrollment_eori`,
            error: null,
            processed_at: sql`now()`,
            trace_id: sql`EXCLUDED.trace_id`,
          })
          .where('notifications.status', '=', 'quarantined'),
      )
      .returning(['notification_id'])
      .execute();
    const insertedIds = new Set(returned.map((row) => row.notification_id));
    for (const { index, row } of plain) {
      outcomes[index]!.notification = insertedIds.has(row.notification_id)
        ? row.status
        : 'redelivered';
    }
  }
  if (quarantined.length > 0) {
    // A notification that was queued for a fetch (or quarantined before) takes the new verdict;
    // one that was stored stays stored.
    const returned = await insertRows(
      trx,
      byId(quarantined).map((entry) => entry.row),
    )
      .onConflict((oc) =>
        oc
          .columns(['notification_id', 'created_at'])
          .doUpdateSet({
            status: 'quarantined',
            error: sql`EXCLUDED.error`,
            error_history: sql`notifications.error_history || EXCLUDED.error_history`,
            processed_at: sql`now()`,
          })
          .where('notifications.status', 'in', ['queued', 'quarantined']),
      )
      .returning(['notification_id'])
      .execute();
    const updatedIds = new Set(returned.map((row) => row.notification_id));
    for (const { index, row } of quarantined) {
      outcomes[index]!.notification = updatedIds.has(row.notification_id)
        ? 'quarantined'
        : 'redelivered';
    }
  }
}

/**
 * A fetch (or a failed fetch) settles a notification that was recorded as queued, or one that a
 * failed fetch quarantined and a replayed fetch now completes (or fails again: history grows).
 */
export async function completeQueuedNotifications(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
): Promise<void> {
  for (const [index, record] of records.entries()) {
    if (
      (record.kind !== 'message' && record.kind !== 'quarantine') ||
      record.notificationRef === null
    )
      continue;
    const { notificationId, createdAt } = record.notificationRef;
    const update =
      record.kind === 'message'
        ? {
            status: (outcomes[index]!.messageStored ? 'stored' : 'duplicate') as NotificationStatus,
            message_type: record.message.messageType,
            error: null,
            processed_at: sql<Date>`now()`,
          }
        : {
            status: 'quarantined' as NotificationStatus,
            error: record.deadLetter.errorMessage,
            error_history: sql<string>`error_history || ${JSON.stringify(record.deadLetter.history)}::jsonb`,
            processed_at: sql<Date>`now()`,
          };
    const result = await trx
      .updateTable('notifications')
      .set(update)
      .where('notification_id', '=', notificationId)
      .where('created_at', '=', createdAt)
      .where('status', 'in', ['queued', 'quarantined'])
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) outcomes[index]!.notification = update.status;
  }
}
