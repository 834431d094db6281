import type { DeadLetterStatus, Db, ErrorHistoryEntry } from '@ctc-hub/db';
import { countedPage, type Page } from '../http/paging.js';
import { eoriVisible, type EoriScope } from '../http/scope.js';

/** Everything but the payload and the error history: those can be large and stay on the detail. */
const deadLetterListColumns = [
  'id',
  'dedupe_key',
  'kind',
  'queue',
  'job_id',
  'error_code',
  'error_message',
  'notification_id',
  'box_id',
  'eori',
  'movement_type',
  'movement_id',
  'message_id',
  'status',
  'occurrences',
  'created_at',
  'updated_at',
  'replayed_at',
  'replay_count',
] as const;

export interface DeadLetterListRow {
  id: string;
  dedupe_key: string;
  kind: string;
  queue: string | null;
  job_id: string | null;
  error_code: string;
  error_message: string;
  notification_id: string | null;
  box_id: string | null;
  eori: string | null;
  movement_type: string | null;
  movement_id: string | null;
  message_id: string | null;
  status: DeadLetterStatus;
  occurrences: number;
  created_at: Date;
  updated_at: Date;
  replayed_at: Date | null;
  replay_count: number;
}

export interface DeadLetterRow extends DeadLetterListRow {
  payload: unknown;
  error_history: ErrorHistoryEntry[];
}

export interface DeadLetterFilter {
  eoris: EoriScope;
  kind?: string;
  errorCode?: string;
  /** created_at >= from */
  from?: Date;
  /** created_at < before (exclusive; callers pass the inclusive `to` + 1 ms) */
  before?: Date;
  boxId?: string;
  eori?: string;
  status?: DeadLetterStatus;
}

/**
 * Filtered dead letters. dead_letters_list_idx (status, created_at DESC) and
 * dead_letters_kind_idx (kind, error_code, created_at DESC) serve the usual triage filters;
 * the table holds failures only, so the rarer box/EORI filters scan it.
 */
export function deadLetterQuery(db: Db, filter: DeadLetterFilter) {
  let query = db.selectFrom('dead_letters');
  if (filter.eoris !== undefined)
    query = query.where(eoriVisible('dead_letters.eori', filter.eoris));
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
  if (filter.errorCode !== undefined) query = query.where('error_code', '=', filter.errorCode);
  if (filter.from !== undefined) query = query.where('created_at', '>=', filter.from);
  if (filter.before !== undefined) query = query.where('created_at', '<', filter.before);
  if (filter.boxId !== undefined) query = query.where('box_id', '=', filter.boxId);
  if (filter.eori !== undefined) query = query.where('eori', '=', filter.eori);
  // Purged letters leave the list (their rows stay as the audit trail) unless asked for.
  query =
    filter.status !== undefined
      ? query.where('status', '=', filter.status)
      : query.where('status', '<>', 'purged');
  return query;
}

export function listDeadLetters(
  db: Db,
  filter: DeadLetterFilter,
  limit: number,
  offset: number,
): Promise<Page<DeadLetterListRow>> {
  return countedPage(deadLetterQuery(db, filter), offset, () =>
    deadLetterQuery(db, filter)
      .select(deadLetterListColumns)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute(),
  );
}

export async function findDeadLetter(
  db: Db,
  id: string,
  eoris: EoriScope,
): Promise<DeadLetterRow | undefined> {
  let query = db
    .selectFrom('dead_letters')
    .select([...deadLetterListColumns, 'payload', 'error_history'])
    .where('id', '=', id);
  if (eoris !== undefined) query = query.where(eoriVisible('dead_letters.eori', eoris));
  return (await query.executeTakeFirst()) as DeadLetterRow | undefined;
}
