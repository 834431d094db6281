import { sql, type Kysely } from 'kysely';
import type { Db } from '../connection.js';
import {
  recordDeadLetters,
  resolveReplayedDeadLetters,
  resolveSettledDeadLetters,
} from '../dead-letters/letters.js';
import type { Database } from '../schema/database.js';
import type { ErrorHistoryEntry } from '../schema/notifications.table.js';

/**
 * The one writer of `relay_notifications.status` (and of when a push is next due): pushes
 * claimed, delivered, retried, parked or FAILED, acknowledged by a pull, put back by a replay.
 */

/** The dead letter of one notification one consumer did not take: one per (consumer, notification). */
export const relaySubject = (consumerId: string, notificationId: string) =>
  ({ kind: 'relay', consumerId, notificationId }) as const;

/** A push that is due, claimed by this worker, with what is needed to make it. */
export interface ClaimedPush {
  consumerId: string;
  notificationId: string;
  notificationCreatedAt: Date;
  queuedAt: Date;
  attempts: number;
  boxId: string;
  callbackUrl: string | null;
  /** Encrypted. */
  secret: string | null;
  validatedUrl: string | null;
  enabled: boolean;
  /** The envelope as PPNS sent it to us; null once retention removed the notification. */
  envelope: string | null;
  enrollmentEori: string | null;
  movementType: string | null;
  movementId: string | null;
  messageId: string | null;
}

/**
 * Claims up to `limit` due pushes: their next attempt moves `leaseMs` ahead, so no other
 * replica takes them while they are in flight, and a worker that dies mid-push leaves them to be
 * retried when the lease runs out.
 */
export async function claimDuePushes(
  db: Db,
  limit: number,
  leaseMs: number,
): Promise<ClaimedPush[]> {
  const { rows } = await sql<{
    consumer_id: string;
    notification_id: string;
    notification_created_at: Date;
    queued_at: Date;
    attempts: number;
    box_id: string;
    callback_url: string | null;
    secret: string | null;
    validated_url: string | null;
    enabled: boolean;
    envelope: string | null;
    enrollment_eori: string | null;
    movement_type: string | null;
    movement_id: string | null;
    message_id: string | null;
  }>`
    WITH due AS (
      SELECT consumer_id, notification_id FROM relay_notifications
      WHERE next_attempt_at <= now() AND status = 'PENDING'
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ),
    claimed AS (
      UPDATE relay_notifications r
      SET next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
      FROM due
      WHERE r.consumer_id = due.consumer_id AND r.notification_id = due.notification_id
      RETURNING r.consumer_id, r.notification_id, r.notification_created_at, r.queued_at, r.attempts
    )
    SELECT claimed.*, c.box_id, c.callback_url, c.secret, c.validated_url, c.enabled,
           n.envelope, n.enrollment_eori, n.movement_type, n.movement_id, n.message_id
    FROM claimed
    JOIN relay_consumers c ON c.id = claimed.consumer_id
    LEFT JOIN notifications n
      ON n.notification_id = claimed.notification_id
     AND n.created_at = claimed.notification_created_at
    ORDER BY claimed.notification_created_at`.execute(db);
  return rows.map((row) => ({
    consumerId: row.consumer_id,
    notificationId: row.notification_id,
    notificationCreatedAt: row.notification_created_at,
    queuedAt: row.queued_at,
    attempts: row.attempts,
    boxId: row.box_id,
    callbackUrl: row.callback_url,
    secret: row.secret,
    validatedUrl: row.validated_url,
    enabled: row.enabled,
    envelope: row.envelope,
    enrollmentEori: row.enrollment_eori,
    movementType: row.movement_type,
    movementId: row.movement_id,
    messageId: row.message_id,
  }));
}

/** What became of a push that did not get its 200 (those are settled by settleDelivered). */
export type PushSettlement =
  /** Failed; tried again `retryInMs` from now. */
  | { kind: 'retry'; error: string; retryInMs: number }
  /** Failed past the retry window: FAILED, and a `relay` dead letter. */
  | { kind: 'failed'; error: ErrorHistoryEntry; history: ErrorHistoryEntry[] }
  /** Nothing to push to (consumer disabled, no validated callback): left PENDING for a pull. */
  | { kind: 'parked'; reason: string };

const key = (push: ClaimedPush) => ({
  consumer: push.consumerId,
  notification: push.notificationId,
});

/** Records the outcome of one claimed push. */
export async function settlePush(
  db: Db,
  push: ClaimedPush,
  outcome: PushSettlement,
): Promise<void> {
  const { consumer, notification } = key(push);
  const row = (trx: Kysely<Database>) =>
    trx
      .updateTable('relay_notifications')
      .where('consumer_id', '=', consumer)
      .where('notification_id', '=', notification);
  if (outcome.kind === 'parked') {
    await row(db).set({ next_attempt_at: null, last_error: outcome.reason }).execute();
    return;
  }
  if (outcome.kind === 'retry') {
    await row(db)
      .where('status', '=', 'PENDING')
      .set({
        attempts: sql`attempts + 1`,
        last_error: outcome.error,
        next_attempt_at: sql`now() + make_interval(secs => ${outcome.retryInMs / 1000})`,
      })
      .execute();
    return;
  }
  await db.transaction().execute(async (trx) => {
    const updated = await row(trx)
      .where('status', '=', 'PENDING')
      .set({
        status: 'FAILED',
        attempts: sql`attempts + 1`,
        last_error: `${outcome.error.code}: ${outcome.error.message}`,
        next_attempt_at: null,
      })
      .executeTakeFirst();
    // Acknowledged by a pull meanwhile: nothing is lost, no letter.
    if (Number(updated.numUpdatedRows) === 0) return;
    await recordDeadLetters(trx, [
      {
        subject: relaySubject(consumer, notification),
        queue: null,
        jobId: null,
        errorCode: outcome.error.code,
        errorMessage: outcome.error.message,
        history: outcome.history,
        payload: { consumerId: consumer, notificationId: notification },
        notificationId: notification,
        boxId: push.boxId,
        eori: push.enrollmentEori,
        movementType: push.movementType,
        movementId: push.movementId,
        messageId: push.messageId,
      },
    ]);
  });
}

/**
 * Records many pushes answered 200 at once (the common case, one transaction instead of one
 * per push): ACKNOWLEDGED, as PPNS marks a pushed notification, and replayed letters resolved.
 */
export async function settleDelivered(db: Db, pushes: readonly ClaimedPush[]): Promise<void> {
  if (pushes.length === 0) return;
  const sorted = [...pushes].sort((a, b) =>
    a.consumerId === b.consumerId
      ? a.notificationId.localeCompare(b.notificationId)
      : a.consumerId.localeCompare(b.consumerId),
  );
  await db.transaction().execute(async (trx) => {
    await sql`
      UPDATE relay_notifications r
      SET status = CASE WHEN r.status = 'PENDING' THEN 'ACKNOWLEDGED' ELSE r.status END,
          attempts = r.attempts + 1,
          pushed_at = now(),
          acknowledged_at = coalesce(r.acknowledged_at, now()),
          next_attempt_at = NULL,
          last_error = NULL
      FROM unnest(${sorted.map((push) => push.consumerId)}::uuid[],
                  ${sorted.map((push) => push.notificationId)}::uuid[]) AS d (consumer_id, notification_id)
      WHERE r.consumer_id = d.consumer_id AND r.notification_id = d.notification_id`.execute(trx);
    await resolveReplayedDeadLetters(
      trx,
      sorted.map((push) => relaySubject(push.consumerId, push.notificationId)),
    );
  });
}

/**
 * Replaying a `relay` dead letter puts the notification back in its consumer's queue: PENDING,
 * due now, with a new retry window. The push that follows resolves the letter, or re-opens it
 * once the window has passed again. False when the consumer or the notification is gone.
 */
export async function requeueRelayPush(
  db: Kysely<Database>,
  consumerId: string,
  notificationId: string,
): Promise<boolean> {
  const result = await db
    .updateTable('relay_notifications')
    .set({
      status: 'PENDING',
      queued_at: sql`now()`,
      next_attempt_at: sql`now()`,
      last_error: null,
    })
    .where('consumer_id', '=', consumerId)
    .where('notification_id', '=', notificationId)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('relay_consumers')
          .select('id')
          .where('id', '=', consumerId)
          .where('enabled', '=', true)
          .where('callback_url', 'is not', null),
      ),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Age in seconds of the oldest notification due for a push to each consumer (metrics). */
export async function relayLag(db: Db): Promise<{ consumerId: string; seconds: number }[]> {
  const { rows } = await sql<{ consumer_id: string; seconds: number }>`
    SELECT c.id AS consumer_id,
           coalesce(extract(epoch FROM now() - min(r.queued_at)), 0)::float8 AS seconds
    FROM relay_consumers c
    LEFT JOIN relay_notifications r
      ON r.consumer_id = c.id AND r.status = 'PENDING' AND r.next_attempt_at IS NOT NULL
    WHERE c.enabled AND c.callback_url IS NOT NULL
    GROUP BY c.id`.execute(db);
  return rows.map((row) => ({ consumerId: row.consumer_id, seconds: Number(row.seconds) }));
}

/**
 * Marks the consumer's notifications ACKNOWLEDGED, whatever their status (PPNS's updateMany):
 * no further push is made, and a `relay` dead letter of one (it had FAILED) is resolved.
 * Unknown ids are ignored, as PPNS ignores them.
 */
export async function acknowledgeRelayBox(
  db: Db,
  consumerId: string,
  notificationIds: readonly string[],
): Promise<number> {
  if (notificationIds.length === 0) return 0;
  const ids = [...new Set(notificationIds.map((id) => id.toLowerCase()))].sort();
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('relay_notifications')
      .set({
        status: 'ACKNOWLEDGED',
        acknowledged_at: sql`coalesce(acknowledged_at, now())`,
        next_attempt_at: null,
      })
      .where('consumer_id', '=', consumerId)
      .where('notification_id', 'in', ids)
      .executeTakeFirst();
    await resolveSettledDeadLetters(
      trx,
      ids.map((id) => relaySubject(consumerId, id)),
    );
    return Number(result.numUpdatedRows);
  });
}

/**
 * A consumer that now has a validated callback URL and is enabled gets the PENDING
 * notifications that were waiting without a push (pull only, disabled) pushed from now.
 */
export async function resumePushes(db: Kysely<Database>, consumerId: string): Promise<void> {
  await sql`
    UPDATE relay_notifications r SET next_attempt_at = now()
    FROM relay_consumers c
    WHERE c.id = ${consumerId} AND r.consumer_id = c.id AND c.enabled
      AND c.callback_url IS NOT NULL AND c.validated_url = c.callback_url
      AND r.status = 'PENDING' AND r.next_attempt_at IS NULL`.execute(db);
}
