import type { Db } from '../connection.js';
import type { RelayStatus } from '../schema/relay.table.js';

export interface RelayBoxQuery {
  status?: RelayStatus;
  /** Inclusive, as PPNS's. */
  from?: Date;
  to?: Date;
  limit: number;
}

export interface RelayBoxEntry {
  notificationId: string;
  createdAt: Date;
  status: RelayStatus;
  /** As PPNS sent it to us. */
  envelope: string;
}

/** A consumer's box, oldest first (PPNS sorts by createdDateTime), at most `limit`. */
export async function listRelayBox(
  db: Db,
  consumerId: string,
  query: RelayBoxQuery,
): Promise<RelayBoxEntry[]> {
  let select = db
    .selectFrom('relay_notifications as r')
    .innerJoin('notifications as n', (join) =>
      join
        .onRef('n.notification_id', '=', 'r.notification_id')
        .onRef('n.created_at', '=', 'r.notification_created_at'),
    )
    .select(['r.notification_id', 'r.notification_created_at', 'r.status', 'n.envelope'])
    .where('r.consumer_id', '=', consumerId);
  if (query.status !== undefined) select = select.where('r.status', '=', query.status);
  if (query.from !== undefined)
    select = select.where('r.notification_created_at', '>=', query.from);
  if (query.to !== undefined) select = select.where('r.notification_created_at', '<=', query.to);
  const rows = await select
    .orderBy('r.notification_created_at')
    .orderBy('r.notification_id')
    .limit(query.limit)
    .execute();
  return rows.map((row) => ({
    notificationId: row.notification_id,
    createdAt: row.notification_created_at,
    status: row.status,
    envelope: row.envelope,
  }));
}
