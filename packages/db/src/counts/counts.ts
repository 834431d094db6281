import { sql } from 'kysely';
import type { Db } from '../connection.js';

/** Taken by compactCounts and by retention when it drops a messages partition. */
export const countsLock = sql`hashtext('ctc-hub:counts')`;

/**
 * Folds movement_counts' and message_counts' delta rows into one row per group (dropping groups
 * that sum to zero), so that reading a total sums a few hundred rows rather than one per ingest
 * batch since the last run. One transaction: a reader sees the rows before or after, and both
 * sum to the same totals. Rows that writers commit meanwhile are not in the DELETE's snapshot and
 * stay as they are. One compaction at a time (an advisory lock; a second caller returns
 * undefined), and never beside retention deleting a dropped month's counts.
 */
export async function compactCounts(
  db: Db,
): Promise<{ movementRows: number; messageRows: number } | undefined> {
  return db.transaction().execute(async (trx) => {
    const lock = await sql<{ locked: boolean }>`
      SELECT pg_try_advisory_xact_lock(${countsLock}) AS locked`.execute(trx);
    if (lock.rows[0]?.locked !== true) return undefined;
    const movements = await sql<{ rows: string }>`
      WITH gone AS (DELETE FROM movement_counts RETURNING *),
           kept AS (
             INSERT INTO movement_counts
             SELECT movement_type, enrollment_eori, movement_eori, hex_id, quarantined, sum(n)
               FROM gone GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
             RETURNING 1)
      SELECT count(*) AS rows FROM kept`.execute(trx);
    const messages = await sql<{ rows: string }>`
      WITH gone AS (DELETE FROM message_counts RETURNING *),
           kept AS (
             INSERT INTO message_counts
             SELECT movement_month, movement_type, box_id, message_type, sum(n)
               FROM gone GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
             RETURNING 1)
      SELECT count(*) AS rows FROM kept`.execute(trx);
    return {
      movementRows: Number(movements.rows[0]?.rows ?? 0),
      messageRows: Number(messages.rows[0]?.rows ?? 0),
    };
  });
}
