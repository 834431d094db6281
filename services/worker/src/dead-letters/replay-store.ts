import {
  markDeadLetterReplayed,
  type Db,
  type DeadLetter,
  type Replay,
  type ReplayItem,
  type ReplayItemState,
} from '@ctc-hub/db';
import { sql } from 'kysely';
import type { ReplayTrx } from './replay-plan.js';

/** Database side of the replay job: items, letters and the replay's counters. */

export async function getReplay(db: Db, replayId: string): Promise<Replay | undefined> {
  return db.selectFrom('replays').selectAll().where('id', '=', replayId).executeTakeFirst();
}

/** The next items still to do (pending, or claimed by a run that may have crashed), in order. */
export async function openItems(
  db: Db,
  replayId: string,
  afterPosition: number,
  limit: number,
): Promise<ReplayItem[]> {
  return db
    .selectFrom('replay_items')
    .selectAll()
    .where('replay_id', '=', replayId)
    .where('state', 'in', ['pending', 'queuing'])
    .where('position', '>', afterPosition)
    .orderBy('position')
    .limit(limit)
    .execute();
}

export async function findLetter(
  db: Db | ReplayTrx,
  id: string,
  options: { lock?: boolean } = {},
): Promise<DeadLetter | undefined> {
  const query = db.selectFrom('dead_letters').selectAll().where('id', '=', id);
  return (options.lock === true ? query.forUpdate() : query).executeTakeFirst();
}

/** Locks an item for the rest of the transaction; a concurrent run of the same replay waits. */
export async function lockItem(
  trx: ReplayTrx,
  item: Pick<ReplayItem, 'replay_id' | 'position'>,
): Promise<ReplayItem | undefined> {
  return trx
    .selectFrom('replay_items')
    .selectAll()
    .where('replay_id', '=', item.replay_id)
    .where('position', '=', item.position)
    .forUpdate()
    .executeTakeFirst();
}

type Counter = 'replayed' | 'skipped' | 'failed';

/** Settles an item and counts it, in the caller's transaction (so it is counted exactly once). */
export async function settleItem(
  trx: ReplayTrx,
  item: Pick<ReplayItem, 'replay_id' | 'position'>,
  state: Extract<ReplayItemState, 'skipped' | 'failed'>,
  reason: string,
): Promise<void> {
  await trx
    .updateTable('replay_items')
    .set({ state, reason, processed_at: sql`now()` })
    .where('replay_id', '=', item.replay_id)
    .where('position', '=', item.position)
    .execute();
  await count(trx, item.replay_id, state);
}

/**
 * Marks the letter replayed and the item claimed (`queuing`, with its job id), and counts it,
 * in the caller's transaction. Returns the claim time. The job is added only after this commits:
 * the work can then never finish before the letter says `replayed`, which is what lets the store
 * turn it into `resolved`.
 */
export async function claimItem(
  trx: ReplayTrx,
  item: Pick<ReplayItem, 'replay_id' | 'position'>,
  letter: DeadLetter,
  attempt: number,
  jobId: string,
): Promise<Date> {
  await markDeadLetterReplayed(trx, letter.id, attempt);
  const claimed = await trx
    .updateTable('replay_items')
    .set({ state: 'queuing', job_id: jobId, processed_at: sql`now()` })
    .where('replay_id', '=', item.replay_id)
    .where('position', '=', item.position)
    .returning('processed_at')
    .executeTakeFirstOrThrow();
  await count(trx, item.replay_id, 'replayed');
  return claimed.processed_at!;
}

/** The job is in Redis: the item is done. */
export async function markQueued(
  db: Db,
  item: Pick<ReplayItem, 'replay_id' | 'position'>,
): Promise<void> {
  await db
    .updateTable('replay_items')
    .set({ state: 'replayed' })
    .where('replay_id', '=', item.replay_id)
    .where('position', '=', item.position)
    .where('state', '=', 'queuing')
    .execute();
}

/** A claimed item whose job can no longer be built (the letter was purged meanwhile). */
export async function unclaimItem(
  db: Db,
  item: Pick<ReplayItem, 'replay_id' | 'position'>,
  reason: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable('replay_items')
      .set({ state: 'failed', reason, processed_at: sql`now()` })
      .where('replay_id', '=', item.replay_id)
      .where('position', '=', item.position)
      .where('state', '=', 'queuing')
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) === 0) return;
    await trx
      .updateTable('replays')
      .set({ replayed: sql`replayed - 1`, failed: sql`failed + 1` })
      .where('id', '=', item.replay_id)
      .execute();
  });
}

async function count(trx: ReplayTrx, replayId: string, counter: Counter): Promise<void> {
  await trx
    .updateTable('replays')
    .set({ [counter]: sql`${sql.ref(counter)} + 1` })
    .where('id', '=', replayId)
    .execute();
}

/**
 * Ends the replay once no item is left open. Two runs of the same replay may both get here;
 * only one moves it, and only that one writes the audit entry.
 */
export async function finishReplay(db: Db, replayId: string): Promise<Replay | undefined> {
  return db.transaction().execute(async (trx) => {
    const finished = await trx
      .updateTable('replays')
      .set({ status: 'done', finished_at: sql`now()` })
      .where('id', '=', replayId)
      .where('status', '=', 'running')
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('replay_items')
              .select(sql`1`.as('one'))
              .where('replay_id', '=', replayId)
              .where('state', 'in', ['pending', 'queuing']),
          ),
        ),
      )
      .returningAll()
      .executeTakeFirst();
    if (finished !== undefined) {
      await trx
        .insertInto('audit_log')
        .values({
          actor: 'system:replay',
          action: 'replay.finished',
          target: JSON.stringify({ replayId }),
          outcome: 'done',
          details: JSON.stringify({
            total: finished.total,
            replayed: finished.replayed,
            skipped: finished.skipped,
            failed: finished.failed,
          }),
        })
        .execute();
    }
    return finished;
  });
}

/** The job gave up (attempts exhausted): the replay stops where it is, visibly. */
export async function failReplay(db: Db, replayId: string, error: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const failed = await trx
      .updateTable('replays')
      .set({ status: 'failed', finished_at: sql`now()` })
      .where('id', '=', replayId)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(failed.numUpdatedRows) === 0) return;
    await trx
      .insertInto('audit_log')
      .values({
        actor: 'system:replay',
        action: 'replay.finished',
        target: JSON.stringify({ replayId }),
        outcome: 'failed',
        details: JSON.stringify({ error }),
      })
      .execute();
  });
}
