import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { MovementType } from './movements.table.js';

export type MessageSource = 'push' | 'fetch' | 'pull' | 'reconcile' | 'submission';
export type MessageDirection = 'inbound' | 'outbound';

export interface MessagesTable {
  /** The movement's retention_month; partition key. */
  movement_month: string;
  movement_type: MovementType;
  movement_id: string;
  /** HMRC messageId (16 hex). */
  message_id: string;
  /** IE code such as IE028; null when the root element is not in the catalogue. */
  message_type: string | null;
  root_element: string | null;
  phase: string | null;
  direction: MessageDirection;
  known_type: boolean;
  /** When HMRC received the message (HMRC's `received`, else the PPNS createdDateTime). */
  received_at: Date;
  /** preparationDateAndTime as written in the message (no zone), e.g. 2024-05-14T15:26:40. */
  prepared_at: string | null;
  message_identification: string | null;
  correlation_identifier: string | null;
  mrn: string | null;
  lrn: string | null;
  size_bytes: number;
  sha256: Buffer;
  /** Parsed fields (packages/ncts MessageSummary). */
  summary: ColumnType<Record<string, unknown>, string, string>;
  /** Set when the XML could not be parsed; the raw bytes are still stored. */
  parse_error: string | null;
  source: MessageSource;
  box_id: string | null;
  request_id: string;
  notification_id: string | null;
  /** HMRC message status: Received for NCTS messages; Pending..Failed for our submissions. */
  hmrc_status: Generated<string>;
  stored_at: Generated<Date>;
  /**
   * Raw XML, byte for byte, lz4-compressed, when at most 1 MiB; empty for a larger body, which
   * is in body_large. Read coalesce(body_large, body). Never select it in list queries.
   */
  body: Buffer;
  /**
   * A body over 1 MiB, stored uncompressed (STORAGE EXTERNAL) so that reading it in slices is
   * linear; a trigger moves it here from `body` on insert (migration 2026_12_06_1510).
   */
  body_large: ColumnType<Buffer | null, never, never>;
}

export type Message = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
