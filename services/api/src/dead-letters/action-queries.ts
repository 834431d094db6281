import {
  purgeDeadLetters,
  type Database,
  type Db,
  type Replay,
  type ReplayItemState,
} from '@ctc-hub/db';
import { sql, type Transaction } from 'kysely';
import { deadLetterQuery, type DeadLetterFilter } from './queries.js';

type Executor = Db | Transaction<Database>;

/**
 * A bulk action's set: the filtered letters created up to `asOf`. The bound keeps letters that
 * fail after the dry run out of the set, so the set changes only when letters already in it (or
 * just outside its status) change.
 */
function snapshot(db: Executor, filter: DeadLetterFilter, asOf: Date) {
  return deadLetterQuery(db as Db, filter).where('created_at', '<=', asOf);
}

/** Postgres' clock, to the millisecond a JS Date can carry (so the bound survives the round trip). */
export async function databaseNow(db: Executor): Promise<Date> {
  const { now } = await sql<{
    now: Date;
  }>`SELECT date_trunc('milliseconds', now()) AS now`
    .execute(db)
    .then((result) => result.rows[0]!);
  return now;
}

/** Replays this API key asked for that are still running (index replays_running_by_key_idx). */
export async function runningReplays(db: Executor, keyId: string): Promise<number> {
  const row = await db
    .selectFrom('replays')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('requested_by', '=', keyId)
    .where('status', '=', 'running')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export interface SetSummary {
  count: number;
  /** sha256 over the sorted ids: equal digests mean the same letters. */
  digest: string;
}

export async function summariseSet(
  db: Executor,
  filter: DeadLetterFilter,
  asOf: Date,
): Promise<SetSummary> {
  const row = await snapshot(db, filter, asOf)
    .select([
      sql<number>`count(*)::int`.as('count'),
      sql<string>`encode(sha256(convert_to(coalesce(string_agg(id::text, ',' ORDER BY id), ''), 'UTF8')), 'hex')`.as(
        'digest',
      ),
    ])
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), digest: row.digest };
}

export async function countByKind(
  db: Executor,
  filter: DeadLetterFilter,
  asOf: Date,
): Promise<Record<string, number>> {
  const rows = await snapshot(db, filter, asOf)
    .select(['kind', sql<number>`count(*)::int`.as('count')])
    .groupBy('kind')
    .orderBy('kind')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.kind, Number(row.count)]));
}

/** A replay row and its items, oldest letter first. `letters` is an id or a filtered set. */
export async function createReplay(
  trx: Transaction<Database>,
  options: {
    requestedBy: string;
    filter: Record<string, unknown>;
    letters: { id: string } | { filter: DeadLetterFilter; asOf: Date };
    total: number;
  },
): Promise<Replay> {
  const replay = await trx
    .insertInto('replays')
    .values({
      requested_by: options.requestedBy,
      filter: JSON.stringify(options.filter),
      total: options.total,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const letters = options.letters;
  if ('id' in letters) {
    await trx
      .insertInto('replay_items')
      .values({ replay_id: replay.id, position: 1, dead_letter_id: letters.id })
      .execute();
  } else {
    await trx
      .insertInto('replay_items')
      .columns(['replay_id', 'position', 'dead_letter_id'])
      .expression(
        snapshot(trx, letters.filter, letters.asOf).select([
          sql<string>`${replay.id}::uuid`.as('replay_id'),
          sql<number>`row_number() OVER (ORDER BY created_at, id)`.as('position'),
          'id',
        ]),
      )
      .execute();
  }
  return replay;
}

/** A replay that could not be queued ends at once, so it does not look as if it were running. */
export async function abandonReplay(db: Executor, replayId: string): Promise<void> {
  await db
    .updateTable('replays')
    .set({ status: 'failed', finished_at: sql`now()` })
    .where('id', '=', replayId)
    .where('status', '=', 'running')
    .execute();
}

/**
 * Purges letters: they leave the list and their payload (the raw envelope or job data) is
 * dropped, while the row (kind, error, history, references, times) stays for the audit trail.
 * A purged letter that fails again is reopened with the new payload by its writer.
 */
export async function purgeLetters(
  trx: Transaction<Database>,
  letters: { id: string } | { filter: DeadLetterFilter; asOf: Date },
): Promise<string[]> {
  const ids =
    'id' in letters
      ? [letters.id]
      : (await snapshot(trx, letters.filter, letters.asOf).select('id').execute()).map(
          (row) => row.id,
        );
  return purgeDeadLetters(trx, ids);
}

export interface ReplayProblem {
  deadLetterId: string;
  state: ReplayItemState;
  reason: string | null;
}

export interface ReplayView {
  replay: Replay;
  pending: number;
  problems: ReplayProblem[];
}

/** A replay with what is left to do and why letters were skipped or failed (first `limit`). */
export async function findReplay(
  db: Db,
  replayId: string,
  requestedBy: string | undefined,
  limit = 100,
): Promise<ReplayView | undefined> {
  let query = db.selectFrom('replays').selectAll().where('id', '=', replayId);
  if (requestedBy !== undefined) query = query.where('requested_by', '=', requestedBy);
  const replay = await query.executeTakeFirst();
  if (replay === undefined) return undefined;
  const [{ pending }] = await db
    .selectFrom('replay_items')
    .select(sql<number>`count(*)::int`.as('pending'))
    .where('replay_id', '=', replayId)
    .where('state', 'in', ['pending', 'queuing'])
    .execute()
    .then((rows) => rows as [{ pending: number }]);
  const problems = await db
    .selectFrom('replay_items')
    .select(['dead_letter_id', 'state', 'reason'])
    .where('replay_id', '=', replayId)
    .where('state', 'in', ['skipped', 'failed'])
    .orderBy('position')
    .limit(limit)
    .execute();
  return {
    replay,
    pending: Number(pending),
    problems: problems.map((row) => ({
      deadLetterId: row.dead_letter_id,
      state: row.state,
      reason: row.reason,
    })),
  };
}
