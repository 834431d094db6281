import type { Request } from 'express';
import type { Database } from '@ctc-hub/db';
import { sql, type SelectQueryBuilder } from 'kysely';
import { ApiError } from './errors.js';
import { queryValue } from './params.js';
import { checked, countQuery, pageQuery } from './schemas.js';

/**
 * Paged lists, as HMRC pages them (reference §3.2): `page` and `count` parameters, the SQL offset
 * of a page, HMRC's 404 for a page past the end, and one page read with its total.
 */

export const defaultPageSize = 25;
export const maxPageSize = 500;

export interface Paging {
  page: number;
  /** Items per page after clamping to maxPageSize. */
  count: number;
  /** What the caller sent, echoed in `_links.self` as HMRC does. */
  pageGiven: number | undefined;
  countGiven: number | undefined;
}

function positiveInteger(request: Request, name: 'page' | 'count'): number | undefined {
  const raw = queryValue(request, name);
  if (raw === undefined) return undefined;
  // HMRC binds these as Long and rejects ≤ 0; non-numbers fail its binder. One message for both.
  return Number(checked(name === 'page' ? pageQuery : countQuery, raw));
}

/** `page` (default 1) and `count` (default 25, above 500 silently clamped to 500). */
export function parsePaging(request: Request): Paging {
  const pageGiven = positiveInteger(request, 'page');
  const countGiven = positiveInteger(request, 'count');
  return {
    page: pageGiven ?? 1,
    count: Math.min(countGiven ?? defaultPageSize, maxPageSize),
    pageGiven,
    countGiven,
  };
}

/** SQL offset of a page; beyond any real table size the page is simply empty. */
const offsetOf = (paging: Paging): number => (paging.page - 1) * paging.count;

/**
 * HMRC answers 404 for an empty page only when a page other than 1 was asked for; page 1 (or no
 * page) of an empty result is 200 with an empty list and totalCount 0 (PersistenceService
 * `isEmptyPage` in common-transit-convention-traders). We do the same.
 */
function ensurePageExists(paging: Paging, itemsOnPage: number): void {
  if (itemsOnPage === 0 && paging.page > 1) {
    throw new ApiError(404, 'NOT_FOUND', 'The requested page does not exist');
  }
}

export interface Page<T> {
  totalCount: number;
  items: T[];
}

/**
 * The page `paging` asks for, read by `read(limit, offset)`, and HMRC's 404 when it is past the
 * end (ensurePageExists): every paged list goes through here, so none can forget the rule.
 */
export async function readPage<P extends { items: readonly unknown[] }>(
  paging: Paging,
  read: (limit: number, offset: number) => Promise<P>,
): Promise<P> {
  const page = await read(paging.count, offsetOf(paging));
  ensurePageExists(paging, page.items.length);
  return page;
}

const totalCount = sql<string>`count(*)`.as('totalCount');

/**
 * One page of a list and its total: `count(*)` over the list's filtered query, then `page` (the
 * same query with its columns, order, limit and offset). The count runs first so a page past the
 * end costs no second scan; the two statements are not one snapshot, which matches HMRC (a row
 * updated in between can move between pages either way).
 */
export async function countedPage<Row, Table extends keyof Database>(
  filtered: SelectQueryBuilder<Database, Table, object>,
  offset: number,
  page: () => Promise<readonly unknown[]>,
  /** The same total read another way (a counts table); count(*) of `filtered` when absent. */
  count?: () => Promise<number>,
): Promise<Page<Row>> {
  const total =
    count !== undefined
      ? await count()
      : Number((await filtered.select(totalCount).executeTakeFirstOrThrow()).totalCount);
  if (offset >= total) return { totalCount: total, items: [] };
  return { totalCount: total, items: (await page()) as Row[] };
}
