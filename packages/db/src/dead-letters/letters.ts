import { sql, type Transaction } from 'kysely';
import type { Db } from '../connection.js';
import type { Database } from '../schema/database.js';
import type { ErrorHistoryEntry } from '../schema/notifications.table.js';
import { deadLetterKey, type DeadLetterSubject } from './keys.js';

/**
 * The only writer of `dead_letters`. A letter is opened (or reopened) by `recordDeadLetters`,
 * marked `replayed` by a replay, `resolved` when replayed work succeeds, and `purged` by an
 * operator. Its key and kind come from its subject (keys.ts).
 */

type Executor = Db | Transaction<Database>;

export interface DeadLetterFacts {
  subject: DeadLetterSubject;
  queue: string | null;
  jobId: string | null;
  errorCode: string;
  errorMessage: string;
  history: ErrorHistoryEntry[];
  payload: unknown;
  notificationId?: string | null;
  boxId?: string | null;
  eori: string | null;
  movementType: string | null;
  movementId: string | null;
  messageId: string | null;
}

export interface RecordOptions {
  /**
   * `append` (default): a repeat adds its history to the letter's. `replace`: the new history is
   * the whole story (a submission's attempt list, which only grows), and the job id is updated.
   */
  history?: 'append' | 'replace';
}

/**
 * Opens a letter per subject, or reopens the existing one (one more occurrence, the newest error
 * and payload). Rows are written in key order so concurrent batches lock in the same order.
 */
export async function recordDeadLetters(
  db: Executor,
  letters: readonly DeadLetterFacts[],
  options: RecordOptions = {},
): Promise<void> {
  const rows = new Map<string, DeadLetterFacts>();
  for (const letter of letters) {
    const key = deadLetterKey(letter.subject);
    if (!rows.has(key)) rows.set(key, letter);
  }
  if (rows.size === 0) return;
  const replace = options.history === 'replace';
  await db
    .insertInto('dead_letters')
    .values(
      [...rows.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, letter]) => ({
          dedupe_key: key,
          kind: letter.subject.kind,
          queue: letter.queue,
          job_id: letter.jobId,
          error_code: letter.errorCode,
          error_message: letter.errorMessage,
          error_history: JSON.stringify(letter.history),
          payload: JSON.stringify(letter.payload),
          notification_id: letter.notificationId ?? null,
          box_id: letter.boxId ?? null,
          eori: letter.eori,
          movement_type: letter.movementType,
          movement_id: letter.movementId,
          message_id: letter.messageId,
        })),
    )
    .onConflict((oc) =>
      oc.column('dedupe_key').doUpdateSet({
        status: 'open',
        occurrences: sql`dead_letters.occurrences + 1`,
        error_code: sql`EXCLUDED.error_code`,
        error_message: sql`EXCLUDED.error_message`,
        error_history: replace
          ? sql`EXCLUDED.error_history`
          : sql`dead_letters.error_history || EXCLUDED.error_history`,
        payload: sql`EXCLUDED.payload`,
        ...(replace ? { job_id: sql`EXCLUDED.job_id` } : {}),
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

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
  db: Executor,
  subjects: readonly DeadLetterSubject[],
): Promise<number> {
  return resolveLetters(db, subjects, ['replayed']);
}

/**
 * Letters whose failure the work's owner has since settled by other means (a PPNS relay consumer
 * pulled and acknowledged the notification its pushes failed to deliver) become `resolved`,
 * whether they were replayed or not; a purged one stays purged.
 */
export async function resolveSettledDeadLetters(
  db: Executor,
  subjects: readonly DeadLetterSubject[],
): Promise<number> {
  return resolveLetters(db, subjects, ['open', 'replayed']);
}

/** The subjects' letters still in one of `from` become `resolved`; how many did. */
async function resolveLetters(
  db: Executor,
  subjects: readonly DeadLetterSubject[],
  from: readonly ('open' | 'replayed')[],
): Promise<number> {
  if (subjects.length === 0) return 0;
  const result = await db
    .updateTable('dead_letters')
    .set({ status: 'resolved', updated_at: sql`now()` })
    // One array parameter, not one per key: an ingest batch asks this for up to 400 keys.
    .where(
      sql<boolean>`dedupe_key = ANY(${[...new Set(subjects.map(deadLetterKey))].sort()}::text[])`,
    )
    .where('status', 'in', [...from])
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** A replay claimed the letter: `replayed`, with its replay count. */
export async function markDeadLetterReplayed(
  trx: Transaction<Database>,
  id: string,
  replayCount: number,
): Promise<void> {
  await trx
    .updateTable('dead_letters')
    .set({
      status: 'replayed',
      replay_count: replayCount,
      replayed_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Purges letters: they leave the list and their payload (the raw envelope or job data) is
 * dropped, while the row (kind, error, history, references, times) stays for the audit trail.
 * A purged letter that fails again is reopened with the new payload by `recordDeadLetters`.
 */
export async function purgeDeadLetters(
  trx: Transaction<Database>,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const purged = await trx
    .updateTable('dead_letters')
    .set({ status: 'purged', payload: 'null', updated_at: sql`now()` })
    .where('id', 'in', ids)
    .where('status', '<>', 'purged')
    .returning('id')
    .execute();
  return purged.map((row) => row.id);
}
