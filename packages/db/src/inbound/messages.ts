import type { IngestRecord } from './types.js';
import { messageKey, movementKey, type MovementRow, type Trx } from './batch.js';

export async function insertMessages(
  trx: Trx,
  records: readonly IngestRecord[],
  movements: Map<string, MovementRow>,
): Promise<Set<string>> {
  const rows = new Map<string, Parameters<ReturnType<Trx['insertInto']>['values']>[0] & object>();
  for (const record of records) {
    if (record.kind !== 'message') continue;
    const { movement, message } = record;
    const key = messageKey(movement.movementType, movement.movementId, message.messageId);
    if (rows.has(key)) continue;
    const month = movements.get(
      movementKey(movement.movementType, movement.movementId),
    )!.retention_month;
    rows.set(key, {
      movement_month: month,
      movement_type: movement.movementType,
      movement_id: movement.movementId,
      message_id: message.messageId,
      message_type: message.messageType,
      root_element: message.rootElement,
      phase: message.phase,
      direction: message.direction,
      known_type: message.knownType,
      received_at: message.receivedAt,
      prepared_at: message.preparedAt,
      message_identification: message.messageIdentification,
      correlation_identifier: message.correlationIdentifier,
      mrn: message.mrn,
      lrn: message.lrn,
      size_bytes: message.body.length,
      sha256: message.sha256,
      summary: JSON.stringify(message.summary),
      parse_error: message.parseError,
      source: message.source,
      box_id: movement.boxId,
      request_id: movement.requestId,
      notification_id:
        record.notification?.notificationId ?? record.notificationRef?.notificationId ?? null,
      body: message.body,
      ...(message.hmrcStatus !== undefined ? { hmrc_status: message.hmrcStatus } : {}),
    });
  }
  const inserted = new Set<string>();
  if (rows.size === 0) return inserted;
  const sorted = [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);
  const returned = await trx
    .insertInto('messages')
    .values(sorted as never)
    .onConflict((oc) => oc.doNothing())
    .returning(['movement_type', 'movement_id', 'message_id'])
    .execute();
  for (const row of returned)
    inserted.add(messageKey(row.movement_type, row.movement_id, row.message_id));
  return inserted;
}
