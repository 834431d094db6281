import { sql, type Kysely } from 'kysely';
import type { IngestOutcome, IngestRecord } from '../inbound/types.js';
import type { Database } from '../schema/database.js';

/** A stored notification, by its key. */
export interface RelayRef {
  notificationId: string;
  createdAt: Date;
}

/**
 * Called in the ingest transaction with the notifications it stored (or settled as stored): they
 * go to the relay's outbox, committed with them or not at all. Nothing is written while no
 * consumer is configured, so a hub without the relay pays one indexed probe per batch.
 */
export async function queueForRelay(
  db: Kysely<Database>,
  refs: readonly RelayRef[],
): Promise<void> {
  if (refs.length === 0) return;
  const ids = refs.map((ref) => ref.notificationId);
  const times = refs.map((ref) => ref.createdAt.toISOString());
  await sql`
    INSERT INTO relay_outbox (notification_id, notification_created_at)
    SELECT ref.id, ref.created_at
    FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS ref (id, created_at)
    WHERE EXISTS (SELECT 1 FROM relay_consumers)`.execute(db);
}

/** The notifications an ingest batch stored (or settled as stored): what the relay passes on. */
export function relayableNotifications(
  records: readonly IngestRecord[],
  outcomes: readonly IngestOutcome[],
): RelayRef[] {
  const refs: RelayRef[] = [];
  records.forEach((record, index) => {
    const outcome = outcomes[index]?.notification;
    if (outcome !== 'stored' && outcome !== 'duplicate') return;
    const ref =
      'notificationRef' in record && record.notificationRef !== null
        ? record.notificationRef
        : record.notification;
    if (ref === null) return;
    refs.push({ notificationId: ref.notificationId, createdAt: ref.createdAt });
  });
  return refs;
}
