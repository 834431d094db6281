import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { RelayStatus } from '../schema/relay.table.js';
import { resolveSettledDeadLetters } from '../dead-letters/letters.js';
import { relaySubject } from './delivery.js';

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

/**
 * Marks the consumer's notifications ACKNOWLEDGED, whatever their status (PPNS's updateMany):
 * no further push is made, and a `relay` dead letter of one (it had FAILED) is resolved.
 * Unknown ids are ignored, as PPNS ignores them.
 */
export async function acknowledgeRelayBox(
  db: Db,
  consumerId: string,
  notificationIds: readonly string[],
): Promise<number> {
  if (notificationIds.length === 0) return 0;
  const ids = [...new Set(notificationIds.map((id) => id.toLowerCase()))].sort();
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('relay_notifications')
      .set({
        status: 'ACKNOWLEDGED',
        acknowledged_at: sql`coalesce(acknowledged_at, now())`,
        next_attempt_at: null,
      })
      .where('consumer_id', '=', consumerId)
      .where('notification_id', 'in', ids)
      .executeTakeFirst();
    await resolveSettledDeadLetters(
      trx,
      ids.map((id) => relaySubject(consumerId, id)),
    );
    return Number(result.numUpdatedRows);
  });
}
