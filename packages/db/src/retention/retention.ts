import { sql } from 'kysely';
import type { Db } from '../connection.js';
import { countsLock } from '../counts/counts.js';

export interface RetentionReport {
  cutoff: string;
  /** Partitions detached and dropped, e.g. notifications_2025_01. */
  droppedPartitions: string[];
  /** Movement rows removed with their month's messages. */
  deletedMovements: number;
  /** Rows removed from default partitions and unpartitioned tables. */
  deletedRows: Record<string, number>;
}

interface Partition {
  parent: 'notifications' | 'messages' | 'events';
  name: string;
  /** First day of the partition's month (UTC). */
  month: Date;
}

const monthOf = (name: string): Date | undefined => {
  const match = /_(\d{4})_(\d{2})$/.exec(name);
  return match === null ? undefined : new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
};
const nextMonth = (month: Date) =>
  new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
const isoDate = (date: Date) => date.toISOString().slice(0, 10);

async function partitions(db: Db): Promise<Partition[]> {
  const rows = await sql<{ parent: string; name: string }>`
    SELECT p.relname AS parent, c.relname AS name
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname IN ('notifications', 'messages', 'events')`.execute(db);
  return rows.rows.flatMap((row) => {
    const month = monthOf(row.name);
    return month === undefined
      ? []
      : [{ parent: row.parent as Partition['parent'], name: row.name, month }];
  });
}

/**
 * Drops one monthly partition. PostgreSQL cannot detach CONCURRENTLY while a DEFAULT partition
 * exists, so this is a plain DROP: metadata only and quick, but it needs a brief exclusive lock
 * on the parent. `lock_timeout` bounds the wait behind in-flight ingest batches; if it expires
 * the partition is left for the next run rather than stalling ingest.
 */
async function dropPartition(db: Db, partition: Partition): Promise<boolean> {
  try {
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL lock_timeout = '5s'`.execute(trx);
      await sql`DROP TABLE IF EXISTS ${sql.table(partition.name)}`.execute(trx);
      if (partition.parent === 'messages') {
        // The month's message counts go with its rows (migration 2026_12_06_1520), in the same
        // transaction. After the DROP, whose lock on the parent waited for every insert in
        // flight, so the DELETE's snapshot holds their counts too; the advisory lock keeps
        // compactCounts from re-adding rows this DELETE cannot see.
        await sql`SELECT pg_advisory_xact_lock(${countsLock})`.execute(trx);
        await sql`DELETE FROM message_counts WHERE movement_month = ${isoDate(partition.month)}::date`.execute(
          trx,
        );
      }
    });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') return false;
    throw error;
  }
}

/**
 * Removes data older than `retentionDays` the cheap way: whole monthly partitions are detached
 * and dropped, never deleted row by row.
 *  - notifications and events: a month goes once all of it is older than the cutoff.
 *  - messages are partitioned by the month their movement was first seen; a month goes once it
 *    is past the cutoff AND the newest message of its movements is too (movements.last_message_at,
 *    indexed by retention_month), so no message is kept for less than `retentionDays`. Its
 *    movement rows (one small row each) are then deleted.
 *  - the few rows that landed in DEFAULT partitions, and finished submissions and balance checks
 *    (unpartitioned, low volume), are deleted by the same cutoff.
 * One replica at a time (advisory lock); safe to repeat.
 */
export async function applyRetention(
  pool: Db,
  retentionDays: number,
  now = new Date(),
): Promise<RetentionReport> {
  // One pinned connection: the session advisory lock must be released where it was taken.
  return pool.connection().execute((db) => retain(db as Db, retentionDays, now));
}

async function retain(db: Db, retentionDays: number, now: Date): Promise<RetentionReport> {
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 3600 * 1000);
  const report: RetentionReport = {
    cutoff: cutoff.toISOString(),
    droppedPartitions: [],
    deletedMovements: 0,
    deletedRows: {},
  };
  const lock = await sql<{
    locked: boolean;
  }>`SELECT pg_try_advisory_lock(hashtext('ctc-hub:retention')) AS locked`.execute(db);
  if (lock.rows[0]?.locked !== true) return report;
  try {
    for (const partition of await partitions(db)) {
      if (nextMonth(partition.month) > cutoff) continue;
      if (partition.parent === 'messages') {
        const newest = await db
          .selectFrom('movements')
          .select((eb) => eb.fn.max('last_message_at').as('newest'))
          .where('retention_month', '=', isoDate(partition.month))
          .executeTakeFirst();
        if (newest?.newest != null && new Date(newest.newest) > cutoff) continue;
        if (!(await dropPartition(db, partition))) continue;
        const deleted = await db
          .deleteFrom('movements')
          .where('retention_month', '=', isoDate(partition.month))
          .executeTakeFirst();
        report.deletedMovements += Number(deleted.numDeletedRows);
      } else if (!(await dropPartition(db, partition))) {
        continue;
      }
      report.droppedPartitions.push(partition.name);
    }

    const count = (result: { numDeletedRows: bigint }) => Number(result.numDeletedRows);
    report.deletedRows.notifications_default = count(
      await db
        .deleteFrom('notifications_default' as never)
        .where('created_at' as never, '<', cutoff as never)
        .executeTakeFirst(),
    );
    report.deletedRows.events_default = count(
      await db
        .deleteFrom('events_default' as never)
        .where('created_at' as never, '<', cutoff as never)
        .executeTakeFirst(),
    );
    // Messages in the default partition belong to months without a partition; drop them with
    // their movements only when the movement itself is past retention.
    const oldMovements = db
      .selectFrom('movements')
      .select(['movement_type', 'movement_id'])
      .where('retention_month', '<', isoDate(cutoff))
      .where((eb) =>
        eb.or([eb('last_message_at', 'is', null), eb('last_message_at', '<', cutoff)]),
      );
    report.deletedRows.messages_default = count(
      await db
        .deleteFrom('messages_default' as never)
        .where(sql<boolean>`(movement_type, movement_id) IN (${oldMovements})`)
        .executeTakeFirst(),
    );
    const movements = await db
      .deleteFrom('movements')
      .where('retention_month', '<', isoDate(cutoff))
      .where((eb) => eb.or([eb('last_message_at', 'is', null), eb('last_message_at', '<', cutoff)]))
      .executeTakeFirst();
    report.deletedMovements += count(movements);
    report.deletedRows.submissions = count(
      await db
        .deleteFrom('submissions')
        .where('status', 'in', ['accepted', 'rejected', 'failed'])
        .where('created_at', '<', cutoff)
        .executeTakeFirst(),
    );
    return report;
  } finally {
    await sql`SELECT pg_advisory_unlock(hashtext('ctc-hub:retention'))`.execute(db);
  }
}
