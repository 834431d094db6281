import { sql, type Kysely } from 'kysely';

// The PPNS relay (issue 12 §3): trader software that consumes PPNS gets every notification we
// store, pushed as PPNS pushes it or pulled as PPNS serves it.
//
// relay_consumers: one per consumer the operator configures. box_id is the box we present to it
// (PPNS's boxId); secret is its push secret, encrypted like OAuth tokens; eoris limits what it
// sees (NULL: every EORI). validated_url is the callback URL that last answered PPNS's challenge:
// nothing is pushed to a URL that has not.
//
// relay_outbox: notifications stored since the last fan-out, written in the ingest transaction
// (only while a consumer exists), consumed by the worker.
//
// relay_notifications: each consumer's box, PPNS's notification status per consumer.
// next_attempt_at is when the next push is due (NULL: nothing to push); a worker claims a row by
// moving it forward, so a push in flight is not taken by another replica.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE relay_consumers (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name          text NOT NULL,
      box_id        uuid NOT NULL UNIQUE,
      callback_url  text,
      secret        text,
      eoris         text[],
      enabled       boolean NOT NULL DEFAULT true,
      validated_url text,
      validated_at  timestamptz,
      created_by    text NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      CHECK (callback_url IS NULL OR secret IS NOT NULL)
    )`.execute(db);

  await sql`
    CREATE TABLE relay_outbox (
      id                      bigserial PRIMARY KEY,
      notification_id         uuid NOT NULL,
      notification_created_at timestamptz NOT NULL,
      queued_at               timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE relay_notifications (
      consumer_id             uuid NOT NULL REFERENCES relay_consumers (id) ON DELETE CASCADE,
      notification_id         uuid NOT NULL,
      notification_created_at timestamptz NOT NULL,
      status                  text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'ACKNOWLEDGED', 'FAILED')),
      queued_at               timestamptz NOT NULL DEFAULT now(),
      attempts                integer NOT NULL DEFAULT 0,
      next_attempt_at         timestamptz,
      pushed_at               timestamptz,
      acknowledged_at         timestamptz,
      last_error              text,
      PRIMARY KEY (consumer_id, notification_id)
    )`.execute(db);
  await sql`CREATE INDEX relay_notifications_box_idx ON relay_notifications (consumer_id, notification_created_at, notification_id)`.execute(
    db,
  );
  // Pull consumers ask for their PENDING notifications over and over, in a box that is mostly
  // ACKNOWLEDGED.
  await sql`CREATE INDEX relay_notifications_pending_idx ON relay_notifications (consumer_id, notification_created_at, notification_id) WHERE status = 'PENDING'`.execute(
    db,
  );
  await sql`CREATE INDEX relay_notifications_due_idx ON relay_notifications (next_attempt_at) WHERE next_attempt_at IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX relay_notifications_queued_idx ON relay_notifications (queued_at)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE relay_notifications`.execute(db);
  await sql`DROP TABLE relay_outbox`.execute(db);
  await sql`DROP TABLE relay_consumers`.execute(db);
}
