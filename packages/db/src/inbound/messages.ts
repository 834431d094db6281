import { sql } from 'kysely';
import type { IngestRecord } from './types.js';
import {
  messageKey,
  movementKey,
  unnestRows,
  type MovementRow,
  type Trx,
  type UnnestColumn,
} from './batch.js';

interface MessageRow {
  movement_month: string;
  movement_type: string;
  movement_id: string;
  message_id: string;
  message_type: string | null;
  root_element: string | null;
  phase: string | null;
  direction: string;
  known_type: boolean;
  received_at: Date;
  prepared_at: string | null;
  message_identification: string | null;
  correlation_identifier: string | null;
  mrn: string | null;
  lrn: string | null;
  size_bytes: number;
  sha256: Buffer;
  summary: string;
  parse_error: string | null;
  source: string;
  box_id: string | null;
  request_id: string;
  notification_id: string | null;
  body: Buffer;
  hmrc_status: string | null;
}

const messageColumns: UnnestColumn<MessageRow>[] = [
  { name: 'movement_month', type: 'date' },
  { name: 'movement_type', type: 'text' },
  { name: 'movement_id', type: 'text' },
  { name: 'message_id', type: 'text' },
  { name: 'message_type', type: 'text' },
  { name: 'root_element', type: 'text' },
  { name: 'phase', type: 'text' },
  { name: 'direction', type: 'text' },
  { name: 'known_type', type: 'boolean' },
  { name: 'received_at', type: 'timestamptz' },
  { name: 'prepared_at', type: 'timestamp' },
  { name: 'message_identification', type: 'text' },
  { name: 'correlation_identifier', type: 'text' },
  { name: 'mrn', type: 'text' },
  { name: 'lrn', type: 'text' },
  { name: 'size_bytes', type: 'int' },
  { name: 'sha256', type: 'bytea', pass: 'each' },
  { name: 'summary', type: 'jsonb', pass: 'each' },
  { name: 'parse_error', type: 'text' },
  { name: 'source', type: 'text' },
  { name: 'box_id', type: 'uuid' },
  { name: 'request_id', type: 'text' },
  { name: 'notification_id', type: 'uuid' },
  { name: 'body', type: 'bytea', pass: 'each' },
  { name: 'hmrc_status', type: 'text' },
];

export async function insertMessages(
  trx: Trx,
  records: readonly IngestRecord[],
  movements: Map<string, MovementRow>,
): Promise<Set<string>> {
  const rows = new Map<string, MessageRow>();
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
      hmrc_status: message.hmrcStatus ?? null,
    });
  }
  const inserted = new Set<string>();
  if (rows.size === 0) return inserted;
  const sorted = [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);
  const returned = await trx
    .insertInto('messages')
    .columns(messageColumns.map((column) => column.name))
    .expression(
      unnestRows(sorted, messageColumns, {
        // The column's default (migration 2026_11_21_0900) for a message that names none.
        hmrc_status: (column) => sql`COALESCE(${column}, 'Received')`,
      }),
    )
    .onConflict((oc) => oc.doNothing())
    .returning(['movement_type', 'movement_id', 'message_id'])
    .execute();
  for (const row of returned)
    inserted.add(messageKey(row.movement_type, row.movement_id, row.message_id));
  return inserted;
}
