import type { Database } from '../schema/database.js';
import type { IngestOutcome, IngestRecord } from './types.js';
import { movementKey, unnestRows, type MovementRow, type Trx, type UnnestColumn } from './batch.js';

type EventRow = Omit<Database['events'], 'id' | 'xid' | 'created_at' | 'data'> & { data: string };

const eventColumns: UnnestColumn<EventRow>[] = [
  { name: 'kind', type: 'text' },
  { name: 'movement_type', type: 'text' },
  { name: 'movement_id', type: 'text' },
  { name: 'message_id', type: 'text' },
  { name: 'submission_id', type: 'uuid' },
  { name: 'eori', type: 'text' },
  { name: 'data', type: 'jsonb' },
];

import type { StatusChange } from './movements.js';

export async function insertEvents(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
  movements: Map<string, MovementRow>,
  statusChanges: Map<string, StatusChange>,
): Promise<void> {
  const events: EventRow[] = [];
  const push = (event: Omit<EventRow, 'data'> & { data: object }) =>
    events.push({ ...event, data: JSON.stringify(event.data) });

  records.forEach((record, index) => {
    const outcome = outcomes[index]!;
    if (record.kind === 'quarantine') {
      if (outcome.notification === 'quarantined' || record.notification === null) {
        push({
          kind: 'notification.quarantined',
          movement_type: record.deadLetter.movementType,
          movement_id: record.deadLetter.movementId,
          message_id: record.deadLetter.messageId,
          submission_id: null,
          eori: record.deadLetter.eori,
          data: {
            notificationId:
              record.notification?.notificationId ?? record.notificationRef?.notificationId ?? null,
            errorCode: record.deadLetter.errorCode,
            error: record.deadLetter.errorMessage,
          },
        });
      }
      return;
    }
    const { movement } = record;
    const movementRow = movements.get(movementKey(movement.movementType, movement.movementId));
    const eori = movementRow === undefined ? movement.enrollmentEori : movementRow.event_eori;
    const base = {
      movement_type: movement.movementType,
      movement_id: movement.movementId,
      submission_id: null,
      eori,
    };
    if (outcome.movementCreated) {
      push({
        ...base,
        kind: 'movement.created',
        message_id: null,
        data: { requestId: movement.requestId, boxId: movement.boxId },
      });
    }
    if (record.kind === 'message' && outcome.messageStored) {
      push({
        ...base,
        kind: 'message.received',
        message_id: record.message.messageId,
        data: {
          messageType: record.message.messageType,
          source: record.message.source,
          sizeBytes: record.message.body.length,
        },
      });
    }
    if (record.kind === 'submission-result' && outcome.notification === 'stored') {
      push({
        ...base,
        kind: 'submission.notification',
        message_id: record.messageId,
        data: { response: record.response },
      });
    }
  });
  for (const [key, change] of statusChanges) {
    const [movementType, movementId] = key.split('/') as [string, string];
    push({
      kind: 'movement.status_changed',
      movement_type: movementType,
      movement_id: movementId,
      message_id: null,
      submission_id: null,
      eori: change.eori,
      data: { from: change.from, to: change.to },
    });
  }
  if (events.length > 0)
    await trx
      .insertInto('events')
      .columns(eventColumns.map((column) => column.name))
      .expression(unnestRows(events, eventColumns))
      .execute();
}
