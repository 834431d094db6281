import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema/database.js';
import { encodeCursor, laterOf, positionBelow, type FeedPosition } from './cursor.js';

/**
 * The change feed: `events` read in (xid, id) order, served only below a horizon H such that every
 * transaction that could still add an event below H has finished.
 *
 * Why a reader can resume after any position without gaps or repeats:
 *  - an event's xid is its inserting transaction's (pg_current_xact_id(), the top-level one even
 *    inside a savepoint), and xids are handed out in increasing order;
 *  - every transaction below the horizon has finished (committed or rolled back), and one that
 *    had no xid yet when the horizon was computed will get one at or above it;
 *  - so the set of events with xid < H is final: nothing can commit into it later, and a snapshot
 *    taken after H was computed sees all of it (a transaction leaves the running set only after
 *    its commit is recorded).
 * A page therefore never holds an event at or above H, and a cursor never passes one that could
 * still appear; a read that reaches H may move the cursor up to it, since everything below is
 * settled. Ids alone would not do: they are taken at insert, so id 7 can commit after id 8 was
 * read, and a reader following ids would skip it for ever.
 *
 * The horizon (feedHorizon) is the design's pg_snapshot_xmin(pg_current_snapshot()) narrowed to
 * this database: xids are cluster-wide, so the plain snapshot xmin is held back by a long write
 * transaction in ANY database of the cluster, which cannot write our events. See feedHorizon for
 * why the narrowed value keeps the guarantee, and when it falls back to the plain one.
 *
 * The price is latency: one long write transaction in this database holds the horizon, and with
 * it every event committed after it began, until it ends. Read-only transactions have no xid and
 * hold nothing back.
 *
 * The order is the order in which transactions first wrote, then insert order: a stable total
 * order that every reader sees identically. It equals commit order for transactions that do not
 * overlap; of two overlapping ones, the one that wrote first comes first even if it committed
 * later.
 */

/** Db, a Transaction or one pinned connection: all run the same statements. */
type Executor = Kysely<Database>;

export interface FeedEvent {
  position: FeedPosition;
  /** The opaque form of `position`: resume after this event. */
  cursor: string;
  createdAt: Date;
  kind: string;
  movementType: string | null;
  movementId: string | null;
  messageId: string | null;
  submissionId: string | null;
  eori: string | null;
  data: Record<string, unknown>;
}

export interface FeedPage {
  events: FeedEvent[];
  /**
   * Where the next read resumes: after the last event returned or, when events were passed over
   * (not visible to the reader) or the read reached the horizon, further. Never before `after`.
   */
  next: FeedPosition;
  /** The read reached the horizon: there is nothing more to read right now. */
  caughtUp: boolean;
}

export interface ReadFeedOptions {
  /** Resume after this position; `now` starts at the horizon (only events still to come). */
  after: FeedPosition | 'now';
  limit: number;
  /** Only events of these EORIs (events without one are left out); undefined: every event. */
  eoris?: readonly string[] | undefined;
  /**
   * Most events examined by one filtered read, so a key whose traders are rare costs a bounded
   * scan instead of one to the end of the table; the cursor still moves past what was examined.
   */
  scanLimit?: number;
}

interface FeedRow {
  id: number;
  xid_text: string;
  created_at: Date;
  kind: string;
  movement_type: string | null;
  movement_id: string | null;
  message_id: string | null;
  submission_id: string | null;
  eori: string | null;
  visible: boolean;
  data: Record<string, unknown> | null;
}

const defaultScanLimit = 10_000;

export async function readEventFeed(db: Executor, options: ReadFeedOptions): Promise<FeedPage> {
  // First the horizon, then the rows: the rows' snapshot must be taken after the horizon was.
  const horizon = await feedHorizon(db);
  if (options.after === 'now') return { events: [], next: positionBelow(horizon), caughtUp: true };
  const after = options.after;
  const limit = Math.max(1, Math.floor(options.limit));
  const eoris = options.eoris === undefined ? undefined : [...options.eoris];
  const scanWindow =
    eoris === undefined ? limit : Math.max(limit, options.scanLimit ?? defaultScanLimit);
  const visible =
    eoris === undefined
      ? sql<boolean>`true`
      : sql<boolean>`coalesce(eori = any(${eoris}::text[]), false)`;

  // The data of events the reader may not see is not even read.
  const { rows } = await sql<FeedRow>`
    SELECT id, xid::text AS xid_text, created_at, kind, movement_type, movement_id, message_id,
           submission_id, eori, ${visible} AS visible, CASE WHEN ${visible} THEN data END AS data
      FROM events
     WHERE (xid, id) > (${after.xid.toString()}::xid8, ${after.id.toString()}::bigint)
       AND xid < ${horizon.toString()}::xid8
     ORDER BY events.xid, events.id
     LIMIT ${scanWindow}`.execute(db);

  const events: FeedEvent[] = [];
  let next = after;
  let examined = 0;
  for (const row of rows) {
    if (events.length === limit) break;
    examined += 1;
    const position = { xid: BigInt(row.xid_text), id: BigInt(row.id) };
    next = position;
    if (row.visible) events.push(feedEvent(row, position));
  }
  const caughtUp = rows.length < scanWindow && examined === rows.length;
  // Everything below the horizon is settled, so a read that got there may jump to it: a scoped
  // reader passes over other traders' events, and the next read starts where the table has new
  // rows. A cursor from a client may already be further on; never move it back.
  if (caughtUp) next = laterOf(next, positionBelow(horizon));
  return { events, next: laterOf(next, after), caughtUp };
}

function feedEvent(row: FeedRow, position: FeedPosition): FeedEvent {
  return {
    position,
    cursor: encodeCursor(position),
    createdAt: row.created_at,
    kind: row.kind,
    movementType: row.movement_type,
    movementId: row.movement_id,
    messageId: row.message_id,
    submissionId: row.submission_id,
    eori: row.eori,
    data: row.data ?? {},
  };
}

/**
 * The horizon: no transaction that can still add an event has an xid below it.
 *
 * In one statement: X = pg_snapshot_xmax of the statement's snapshot (taken when the statement
 * starts), then the xids of the transactions running in THIS database (pg_stat_activity, plus
 * prepared ones) read while it executes; H = min(X, those xids). Proof that nothing below H can
 * still commit an event: a transaction that got its xid after the snapshot has one >= X >= H; one
 * that had it before and still runs when the backends are read is in the list, so H <= its xid;
 * one that ended in between has ended; and a transaction in another database cannot write our
 * table. The caller's next statement takes a snapshot after all this, so it sees every finished
 * one. Running xids are 32-bit there; they lie within 2^31 of X (wraparound protection), which
 * gives their epoch.
 *
 * It falls back to the plain snapshot xmin (all databases, always safe) where that argument does
 * not hold: inside a transaction, whose pg_stat_activity view is cached from its first read and
 * whose later statements may reuse its snapshot; and on a standby, which does not list the
 * primary's backends.
 */
export async function feedHorizon(db: Executor): Promise<bigint> {
  if (db.isTransaction) {
    const { rows } = await sql<{
      horizon: string;
    }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`.execute(db);
    return BigInt(rows[0]!.horizon);
  }
  const { rows } = await sql<{ horizon: string }>`
    WITH snapshot AS (
      SELECT pg_snapshot_xmin(s) AS xmin, pg_snapshot_xmax(s)::text::numeric AS xmax
        FROM pg_current_snapshot() AS s
    ), running AS (
      SELECT backend_xid::text::bigint AS xid
        FROM pg_stat_activity
       WHERE datname = current_database() AND backend_xid IS NOT NULL
      UNION ALL
      SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()
    ), distance AS (
      -- How far below (negative) or above X each running xid is, from its low 32 bits.
      SELECT min(((running.xid - (snapshot.xmax % 4294967296)::bigint) % 4294967296
                  + 6442450944) % 4294967296 - 2147483648) AS nearest
        FROM running, snapshot
    )
    SELECT CASE WHEN pg_is_in_recovery() THEN snapshot.xmin::text
                ELSE (snapshot.xmax + least(0, coalesce(distance.nearest, 0)))::text
           END AS horizon
      FROM snapshot, distance`.execute(db);
  return BigInt(rows[0]!.horizon);
}

/**
 * The position of the newest event a reader may be served, or undefined when there is none.
 * Cheap (one backward index step per partition): streams poll it to learn that there is more.
 */
export async function latestFeedPosition(db: Executor): Promise<FeedPosition | undefined> {
  const horizon = await feedHorizon(db);
  // Ordered by the columns, not by the text alias (which would sort '9' after '10').
  const { rows } = await sql<{ xid_text: string; id: number }>`
    SELECT events.xid::text AS xid_text, events.id FROM events
     WHERE events.xid < ${horizon.toString()}::xid8
     ORDER BY events.xid DESC, events.id DESC
     LIMIT 1`.execute(db);
  const row = rows[0];
  return row === undefined ? undefined : { xid: BigInt(row.xid_text), id: BigInt(row.id) };
}

/**
 * When the first event after `after` was written (committed or not yet servable), or undefined
 * when there is none: the age of what a consumer at `after` is waiting for.
 */
export async function nextEventTime(db: Executor, after: FeedPosition): Promise<Date | undefined> {
  const { rows } = await sql<{ created_at: Date }>`
    SELECT created_at FROM events
     WHERE (xid, id) > (${after.xid.toString()}::xid8, ${after.id.toString()}::bigint)
     ORDER BY xid, id
     LIMIT 1`.execute(db);
  return rows[0]?.created_at;
}
