import { sql } from 'kysely';
import type {
  Db,
  ErrorHistoryEntry,
  MovementType,
  NotificationSource,
  NotificationStatus,
} from '@ctc-hub/db';

export interface NotificationRow {
  notification_id: string;
  created_at: Date;
  box_id: string;
  source: NotificationSource;
  status: NotificationStatus;
  notification_type: string | null;
  movement_type: MovementType | null;
  movement_id: string | null;
  message_id: string | null;
  message_type: string | null;
  enrollment_eori: string | null;
  error: string | null;
  error_history: ErrorHistoryEntry[];
  received_at: Date;
  processed_at: Date;
}

/**
 * A notification by id. The table is partitioned by PPNS createdDateTime, which the caller does
 * not know, so this probes the primary key (notification_id, created_at) of every partition, one
 * index lookup each. The envelope is not selected: it is raw PPNS input, and the status endpoint
 * does not show it.
 */
export async function findNotification(
  db: Db,
  notificationId: string,
): Promise<NotificationRow | undefined> {
  const row = await db
    .selectFrom('notifications')
    .select([
      'notification_id',
      'created_at',
      'box_id',
      'source',
      'status',
      'notification_type',
      'movement_type',
      'movement_id',
      'message_id',
      'message_type',
      'enrollment_eori',
      'error',
      'error_history',
      'received_at',
      'processed_at',
    ])
    .where('notification_id', '=', notificationId)
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  return row as NotificationRow | undefined;
}

/** Both EORIs of a movement, to scope a notification that names no EORI of its own. */
export async function movementEoris(
  db: Db,
  movementType: MovementType,
  movementId: string,
): Promise<
  { enrollment_eori: string | null; movement_eori: string | null; quarantined: boolean } | undefined
> {
  return db
    .selectFrom('movements')
    .select([
      'enrollment_eori',
      'movement_eori',
      sql<boolean>`quarantined_at IS NOT NULL`.as('quarantined'),
    ])
    .where('movement_type', '=', movementType)
    .where('movement_id', '=', movementId)
    .executeTakeFirst();
}
