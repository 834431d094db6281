import type { Db, MovementType } from '@ctc-hub/db';
import { sql } from 'kysely';
import { countedPage, type Page } from '../http/paging.js';
import { movementVisible, type EoriScope } from '../http/scope.js';

/** The movement columns the read API shows (never more: lists stay narrow). */
const movementColumns = [
  'movement_type',
  'movement_id',
  'enrollment_eori',
  'movement_eori',
  'mrn',
  'lrn',
  'box_id',
  'request_id',
  'status',
  'retention_month',
  'created_at',
  'updated_at',
] as const;

export interface MovementRow {
  movement_type: MovementType;
  movement_id: string;
  enrollment_eori: string | null;
  movement_eori: string | null;
  mrn: string | null;
  lrn: string | null;
  box_id: string | null;
  request_id: string;
  status: string;
  /** Partition key of the movement's messages. */
  retention_month: string;
  created_at: Date;
  updated_at: Date;
}

export interface MovementListFilter {
  movementType: MovementType;
  eoris: EoriScope;
  /** updated_at >= updatedSince (inclusive, as HMRC's `gte`). */
  updatedSince?: Date;
  /** updated_at < updatedBefore (exclusive; callers pass HMRC's inclusive receivedUntil + 1 ms). */
  updatedBefore?: Date;
  movementEori?: string;
  mrn?: string;
  lrn?: string;
  /**
   * Only movements with HMRC 2.1/3.0 ids (16 lower-case hex): HMRC's lists never show the
   * retired API 1.0's decimal ids, which its paths could not serve.
   */
  hexIdsOnly?: boolean;
}

/**
 * The filtered movements. Newest `updated` first as HMRC sorts, then movement_id so pages are
 * stable when two movements share a timestamp; movements_updated_idx (movement_type, updated_at,
 * movement_id) read backwards yields exactly this order, so a page is an index scan + LIMIT.
 */
export function movementListQuery(db: Db, filter: MovementListFilter) {
  let query = db.selectFrom('movements').where('movement_type', '=', filter.movementType);
  if (filter.eoris !== undefined) query = query.where(movementVisible('movements', filter.eoris));
  if (filter.updatedSince !== undefined)
    query = query.where('updated_at', '>=', filter.updatedSince);
  if (filter.updatedBefore !== undefined)
    query = query.where('updated_at', '<', filter.updatedBefore);
  if (filter.movementEori !== undefined)
    query = query.where('movement_eori', '=', filter.movementEori);
  if (filter.mrn !== undefined) query = query.where('mrn', '=', filter.mrn);
  if (filter.lrn !== undefined) {
    // Arrivals carry no LRN at HMRC, so an LRN filter on arrivals matches none (as HMRC's does).
    query =
      filter.movementType === 'arrival'
        ? query.where(sql<boolean>`false`)
        : query.where('lrn', '=', filter.lrn);
  }
  if (filter.hexIdsOnly === true) query = query.where(sql<boolean>`movement_id ~ '^[0-9a-f]{16}$'`);
  return query;
}

/** From this offset on, a page is read by a deferred join (movementPageQuery). */
export const deferredJoinOffset = 250;

export function movementPageQuery(
  db: Db,
  filter: MovementListFilter,
  limit: number,
  offset: number,
) {
  if (offset >= deferredJoinOffset) return deepMovementPageQuery(db, filter, limit, offset);
  return movementListQuery(db, filter)
    .select(movementColumns)
    .orderBy('updated_at', 'desc')
    .orderBy('movement_id', 'desc')
    .limit(limit)
    .offset(offset);
}

/**
 * A deep page: the OFFSET is walked over the key columns alone, which movements_updated_idx holds
 * (an index-only scan where the table is all-visible, as the months a deep page reaches are), and
 * only the page's rows are then fetched by primary key. Walking it with the whole rows visited
 * the table for every skipped movement: page 200 read 2,373 buffers where this reads about 120
 * (docs/BENCHMARKS.md §7). Same rows, same order.
 */
function deepMovementPageQuery(db: Db, filter: MovementListFilter, limit: number, offset: number) {
  const keys = movementListQuery(db, filter)
    .select(['movement_type', 'movement_id', 'updated_at'])
    .orderBy('updated_at', 'desc')
    .orderBy('movement_id', 'desc')
    .limit(limit)
    .offset(offset)
    .as('page');
  return db
    .selectFrom(keys)
    .innerJoin('movements as m', (join) =>
      join
        .onRef('m.movement_type', '=', 'page.movement_type')
        .onRef('m.movement_id', '=', 'page.movement_id'),
    )
    .select(movementColumns.map((column) => `m.${column}` as const))
    .orderBy('page.updated_at', 'desc')
    .orderBy('page.movement_id', 'desc');
}

/** One page of the filtered movements and their total (countedPage says why in that order). */
export function listMovements(
  db: Db,
  filter: MovementListFilter,
  limit: number,
  offset: number,
): Promise<Page<MovementRow>> {
  return countedPage(
    movementListQuery(db, filter),
    offset,
    () => movementPageQuery(db, filter, limit, offset).execute(),
    countsAnswer(filter) ? () => countedMovements(db, filter) : undefined,
  );
}

/**
 * Whether movement_counts holds this filter's total: its groups are the type, both EORIs (what
 * movementEORI and a key's scope filter on), the hex id and quarantine, so any filter on those
 * alone; a time, MRN or LRN filter is counted with count(*) (an index range, small for what
 * clients send: a recent updatedSince, one MRN or LRN).
 */
const countsAnswer = (filter: MovementListFilter) =>
  filter.updatedSince === undefined &&
  filter.updatedBefore === undefined &&
  filter.mrn === undefined &&
  filter.lrn === undefined;

/**
 * The filter's total from movement_counts (migration 2026_12_06_1520): a sum over a few hundred
 * group rows, exactly count(*) of movementListQuery in the same snapshot, whatever the table's
 * size. The scope's condition is movementVisible's, on the groups' columns.
 */
async function countedMovements(db: Db, filter: MovementListFilter): Promise<number> {
  let query = db
    .selectFrom('movement_counts')
    .select(sql<string>`coalesce(sum(n), 0)`.as('total'))
    .where('movement_type', '=', filter.movementType);
  if (filter.hexIdsOnly === true) query = query.where('hex_id', '=', true);
  if (filter.movementEori !== undefined)
    query = query.where('movement_eori', '=', filter.movementEori);
  if (filter.eoris !== undefined) {
    const allowed = [...filter.eoris];
    query = query
      .where('quarantined', '=', false)
      .where(
        sql<boolean>`(enrollment_eori = any(${allowed}::text[]) or movement_eori = any(${allowed}::text[]))`,
      );
  }
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.total);
}

/** One movement if it exists and the scope may see it; the caller answers 404 otherwise. */
export async function findMovement(
  db: Db,
  movementType: MovementType,
  movementId: string,
  eoris: EoriScope,
): Promise<MovementRow | undefined> {
  const row = await db
    .selectFrom('movements')
    .select(movementColumns)
    .where('movement_type', '=', movementType)
    .where('movement_id', '=', movementId)
    .$if(eoris !== undefined, (query) => query.where(movementVisible('movements', eoris ?? [])))
    .executeTakeFirst();
  return row as MovementRow | undefined;
}
