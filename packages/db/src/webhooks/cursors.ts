import { sql, type Kysely } from 'kysely';
import { recordDeadLetters } from '../dead-letters/letters.js';
import type { Database } from '../schema/database.js';
import type { ErrorHistoryEntry } from '../schema/notifications.table.js';
import { encodeCursor, positionBelow } from '../feed/cursor.js';
import { feedHorizon } from '../feed/read.js';
import type { FeedEventJson } from '../feed/json.js';

/**
 * Delivery state of outbound webhooks: one `webhook_cursors` row per URL, holding the cursor of
 * the last event delivered (or given up on). Only the replica holding the URL's delivery lock
 * writes it, and every write is a compare-and-set on the cursor it read, so a replica that lost
 * the lock (its connection dropped mid-batch) can never move the cursor back or over another's.
 */

type Executor = Kysely<Database>;

/**
 * The cursor of `url`, creating the row on first use at the feed's current end: a newly
 * configured URL gets the events from now on, not the whole retained history (GET /v1/events
 * serves that). Setting the cursor to NULL makes the URL receive everything from the start.
 */
export async function ensureWebhookCursor(db: Executor, url: string): Promise<string | null> {
  const existing = await db
    .selectFrom('webhook_cursors')
    .select('cursor')
    .where('url', '=', url)
    .executeTakeFirst();
  if (existing !== undefined) return existing.cursor;
  const start = encodeCursor(positionBelow(await feedHorizon(db)));
  await db
    .insertInto('webhook_cursors')
    .values({ url, cursor: start, last_error: null })
    .onConflict((oc) => oc.column('url').doNothing())
    .execute();
  const row = await db
    .selectFrom('webhook_cursors')
    .select('cursor')
    .where('url', '=', url)
    .executeTakeFirstOrThrow();
  return row.cursor;
}

export interface CursorAdvance {
  url: string;
  /** The cursor the caller read; the update happens only if it is still the stored one. */
  from: string | null;
  to: string;
  outcome: 'delivered' | 'dead_lettered';
  error?: string;
}

/** Moves a URL's cursor past one event; false when someone else moved it first. */
export async function advanceWebhookCursor(db: Executor, advance: CursorAdvance): Promise<boolean> {
  const delivered = advance.outcome === 'delivered';
  const result = await db
    .updateTable('webhook_cursors')
    .set({
      cursor: advance.to,
      delivered: sql`delivered + ${delivered ? 1 : 0}`,
      failed: sql`failed + ${delivered ? 0 : 1}`,
      last_error: delivered ? sql`last_error` : (advance.error ?? null),
      updated_at: sql`now()`,
    })
    .where('url', '=', advance.url)
    .where(sql<boolean>`cursor IS NOT DISTINCT FROM ${advance.from}`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface WebhookDeadLetter {
  url: string;
  /** The event as it was sent (the feed's JSON form), so a replay sends the same thing. */
  event: FeedEventJson;
  errorCode: string;
  errorMessage: string;
  history: ErrorHistoryEntry[];
  eori: string | null;
  movementType: string | null;
  movementId: string | null;
  messageId: string | null;
}

/** One dead letter per (URL, event); a second failure of the same one updates it. */
export async function recordWebhookDeadLetter(
  db: Executor,
  letter: WebhookDeadLetter,
): Promise<void> {
  await recordDeadLetters(db, [
    {
      subject: { kind: 'webhook', url: letter.url, cursor: letter.event.cursor },
      queue: null,
      jobId: null,
      errorCode: letter.errorCode,
      errorMessage: letter.errorMessage,
      history: letter.history,
      payload: { url: letter.url, event: letter.event },
      eori: letter.eori,
      movementType: letter.movementType,
      movementId: letter.movementId,
      messageId: letter.messageId,
    },
  ]);
}
