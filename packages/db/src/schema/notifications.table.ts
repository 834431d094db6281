import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { MovementType } from './movements.table.js';

export type NotificationStatus = 'queued' | 'stored' | 'duplicate' | 'quarantined';
export type NotificationSource = 'push' | 'pull';

export interface ErrorHistoryEntry {
  at: string;
  code: string;
  message: string;
  attempt?: number;
}

export interface NotificationsTable {
  notification_id: string;
  /** PPNS createdDateTime; partition key. */
  created_at: Date;
  box_id: string;
  source: NotificationSource;
  status: NotificationStatus;
  /** 'v2' (CTC 2.x/3.0 payload) or 'v1' (phase 4); null when the payload matched neither. */
  payload_version: string | null;
  notification_type: string | null;
  movement_type: MovementType | null;
  movement_id: string | null;
  message_id: string | null;
  message_type: string | null;
  enrollment_eori: string | null;
  /** The envelope exactly as PPNS sent it. */
  envelope: string;
  error: string | null;
  error_history: ColumnType<ErrorHistoryEntry[], string | undefined, string>;
  /** When our receiver accepted the push (or the pull fetched it). */
  received_at: Date;
  processed_at: Generated<Date>;
  trace_id: string | null;
}

export type Notification = Selectable<NotificationsTable>;
export type NewNotification = Insertable<NotificationsTable>;
