import { sql, type Transaction } from 'kysely';
import type { Db } from '../connection.js';
import type { Database } from '../schema/database.js';
import type { IngestRecord } from '../inbound/types.js';

/**
 * A replayed dead letter whose work has now succeeded becomes `resolved`. Called in the same
 * transaction as the success itself (a stored message, a settled submission), so a letter is
 * never resolved for work that was rolled back.
 *
 * Only `replayed` letters move: an `open` letter was not replayed (its failure stands until an
 * operator looks at it), and a `purged` one stays purged. The replay marks a letter `replayed`
 * and commits before it queues the job, so the job can never succeed before the mark exists.
 */
export async function resolveReplayedDeadLetters(
  db: Db | Transaction<Database>,
  dedupeKeys: readonly string[],
): Promise<number> {
  if (dedupeKeys.length === 0) return 0;
  const result = await db
    .updateTable('dead_letters')
    .set({ status: 'resolved', updated_at: sql`now()` })
    .where('dedupe_key', 'in', [...new Set(dedupeKeys)].sort())
    .where('status', '=', 'replayed')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * The dead letters an ingest batch settles when it commits: a stored (or duplicate) message
 * completes its notification and its fetch; a SUBMISSION_NOTIFICATION completes its
 * notification. Keys follow the writers' dedupe keys (inbound/records.ts, failures.ts,
 * inbound/fetch.ts). A notification that is merely waiting for a fetch settles nothing yet.
 */
export function deadLetterKeysSettledBy(records: readonly IngestRecord[]): string[] {
  const keys: string[] = [];
  for (const record of records) {
    if (record.kind !== 'message' && record.kind !== 'submission-result') continue;
    const notificationId =
      record.notification?.notificationId ??
      (record.kind === 'message' ? record.notificationRef?.notificationId : undefined);
    if (notificationId !== undefined) keys.push(`notification:${notificationId}`);
    if (record.kind === 'message') {
      const { movementType, movementId } = record.movement;
      keys.push(`fetch-message:${movementType}/${movementId}/${record.message.messageId}`);
    }
  }
  return keys;
}
