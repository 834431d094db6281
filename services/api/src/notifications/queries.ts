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

export interface NotificationListFilter {
  /** A scoped key's EORIs; undefined for an operator. */
  eoris?: readonly string[];
  status?: NotificationStatus;
  boxId?: string;
  /** PPNS createdDateTime bounds (the table is partitioned by it): from inclusive, before exclusive. */
  from?: Date;
  before?: Date;
}

const listColumns = [
  'n.notification_id',
  'n.created_at',
  'n.box_id',
  'n.source',
  'n.status',
  'n.notification_type',
  'n.movement_type',
  'n.movement_id',
  'n.message_id',
  'n.message_type',
  'n.enrollment_eori',
  'n.error',
  'n.error_history',
  'n.received_at',
  'n.processed_at',
] as const;

/**
 * Notifications newest first (by PPNS createdDateTime), as the status endpoint scopes them: a
 * scoped key sees those naming one of its EORIs, or naming none and carrying a movement of its
 * own; never anything of a quarantined movement.
 */
export async function listNotifications(
  db: Db,
  filter: NotificationListFilter,
  limit: number,
  offset: number,
): Promise<{ totalCount: number; items: NotificationRow[] }> {
  let query = db
    .selectFrom('notifications as n')
    .leftJoin('movements as m', (join) =>
      join
        .onRef('m.movement_type', '=', 'n.movement_type')
        .onRef('m.movement_id', '=', 'n.movement_id'),
    );
  if (filter.eoris !== undefined) {
    const allowed = [...filter.eoris];
    query = query.where(
      sql<boolean>`(m.quarantined_at IS NULL AND (n.enrollment_eori = any(${allowed}::text[])
        OR (n.enrollment_eori IS NULL AND (m.enrollment_eori = any(${allowed}::text[])
                                           OR m.movement_eori = any(${allowed}::text[])))))`,
    );
  }
  if (filter.status !== undefined) query = query.where('n.status', '=', filter.status);
  if (filter.boxId !== undefined) query = query.where('n.box_id', '=', filter.boxId);
  if (filter.from !== undefined) query = query.where('n.created_at', '>=', filter.from);
  if (filter.before !== undefined) query = query.where('n.created_at', '<', filter.before);
  const counted = await query
    .select(sql<number>`count(*)::int`.as('total'))
    .executeTakeFirstOrThrow();
  const totalCount = Number(counted.total);
  if (offset >= totalCount) return { totalCount, items: [] };
  const rows = await query
    .select([...listColumns])
    .orderBy('n.created_at', 'desc')
    .orderBy('n.notification_id')
    .limit(limit)
    .offset(offset)
    .execute();
  return { totalCount, items: rows as NotificationRow[] };
}
