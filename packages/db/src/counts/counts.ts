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
  // Rows after folding; -1 when there was nothing to fold (nothing written).
  return db.transaction().execute(async (trx) => {
    const lock = await sql<{ locked: boolean }>`
      SELECT pg_try_advisory_xact_lock(${countsLock}) AS locked`.execute(trx);
    if (lock.rows[0]?.locked !== true) return undefined;
    // Nothing to fold (an idle hub): read a few hundred rows, write nothing.
    const folding = await sql<{ movements: boolean; messages: boolean }>`
      SELECT EXISTS (SELECT FROM movement_counts
                      GROUP BY movement_type, enrollment_eori, movement_eori, hex_id, quarantined
                     HAVING count(*) > 1 OR sum(n) = 0) AS movements,
             EXISTS (SELECT FROM message_counts
                      GROUP BY movement_month, movement_type, box_id, message_type
                     HAVING count(*) > 1 OR sum(n) = 0) AS messages`.execute(trx);
    if (folding.rows[0]?.movements !== true && folding.rows[0]?.messages !== true)
      return { movementRows: -1, messageRows: -1 };
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
