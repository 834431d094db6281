import { sql, type Kysely } from 'kysely';
import type { Db } from '../connection.js';
import type { Database } from '../schema/database.js';

/**
 * Moves up to `limit` notifications from the relay outbox into the box of every consumer
 * allowed to see them (a disabled one collects them without pushes, for when it is re-enabled
 * or pulls), in one transaction (taken from the outbox and queued for the
 * consumers together, or neither). A scoped consumer sees a notification when its enrolment EORI
 * or the EORI its movement's declaration names is one of the consumer's, and the movement is not
 * quarantined (the rule scoped API keys follow). Rows other replicas hold are skipped. Returns
 * how many outbox rows were taken.
 */
export async function fanOutRelay(db: Db, limit: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ taken: string }>`
      WITH taken AS (
        DELETE FROM relay_outbox
        WHERE id IN (SELECT id FROM relay_outbox ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING notification_id, notification_created_at
      ),
      queued AS (
        INSERT INTO relay_notifications
          (consumer_id, notification_id, notification_created_at, next_attempt_at)
        SELECT c.id, t.notification_id, t.notification_created_at,
               CASE WHEN c.enabled AND c.callback_url IS NOT NULL THEN now() END
        FROM taken t
        JOIN notifications n
          ON n.notification_id = t.notification_id AND n.created_at = t.notification_created_at
        LEFT JOIN movements m
          ON m.movement_type = n.movement_type AND m.movement_id = n.movement_id
        JOIN relay_consumers c
          ON (c.eoris IS NULL
              OR ((n.enrollment_eori = any(c.eoris) OR m.movement_eori = any(c.eoris))
                  AND m.quarantined_at IS NULL))
        ON CONFLICT DO NOTHING
      )
      SELECT count(*)::text AS taken FROM taken`.execute(trx);
    return Number(rows[0]?.taken ?? 0);
  });
}

/** Relayed notifications queued longer ago than `days` leave the consumers' boxes. */
export async function pruneRelayBoxes(db: Db, days: number): Promise<number> {
  const result = await db
    .deleteFrom('relay_notifications')
    .where('queued_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * After a consumer's EORIs were narrowed, its box keeps only what the new list may see (the
 * fan-out's rule): a key allowed the new list must not read what the old one let in.
 */
export async function narrowRelayBox(db: Kysely<Database>, consumerId: string): Promise<number> {
  const result = await sql`
    DELETE FROM relay_notifications r
    USING relay_consumers c, notifications n
    LEFT JOIN movements m ON m.movement_type = n.movement_type AND m.movement_id = n.movement_id
    WHERE c.id = ${consumerId} AND r.consumer_id = c.id AND c.eoris IS NOT NULL
      AND n.notification_id = r.notification_id AND n.created_at = r.notification_created_at
      AND NOT coalesce((n.enrollment_eori = any(c.eoris) OR m.movement_eori = any(c.eoris))
                       AND m.quarantined_at IS NULL, false)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
