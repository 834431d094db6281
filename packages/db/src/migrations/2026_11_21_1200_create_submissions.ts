import { sql, type Kysely } from 'kysely';

// The outbox of declarations and follow-up messages we send to HMRC. A row is written (and the
// client answered 202) before anything is queued; the worker's submit job moves it through
// queued → sending → accepted | rejected | failed, and an outbox relay re-queues rows whose job
// was lost. `attempts` keeps every try with its time, HMRC status and outcome.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE submissions (
      id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      eori                   text NOT NULL,
      api_key_id             text NOT NULL,
      idempotency_key        text,
      body_sha256            bytea NOT NULL,
      movement_type          text NOT NULL CHECK (movement_type IN ('departure', 'arrival')),
      message_type           text NOT NULL,
      -- Set for follow-up messages (the target) and, once accepted, for new movements.
      movement_id            text,
      lrn                    text,
      mrn                    text,
      message_identification text,
      api_version            text NOT NULL,
      route                  text NOT NULL CHECK (route IN ('small', 'large')),
      size_bytes             integer NOT NULL,
      body                   bytea NOT NULL,
      status                 text NOT NULL DEFAULT 'queued'
                             CHECK (status IN ('queued', 'sending', 'accepted', 'rejected', 'failed')),
      -- The last attempt's outcome was unknown: HMRC must be checked before sending again.
      outcome_unknown        boolean NOT NULL DEFAULT false,
      attempts               jsonb NOT NULL DEFAULT '[]',
      attempt_count          integer NOT NULL DEFAULT 0,
      hmrc_response          jsonb,
      hmrc_message_id        text,
      box_id                 uuid,
      request_id             text,
      created_at             timestamptz NOT NULL DEFAULT now(),
      updated_at             timestamptz NOT NULL DEFAULT now(),
      completed_at           timestamptz
    )`.execute(db);
  await sql`ALTER TABLE submissions ALTER COLUMN body SET COMPRESSION lz4`.execute(db);
  await sql`CREATE UNIQUE INDEX submissions_idempotency_idx ON submissions (eori, idempotency_key) WHERE idempotency_key IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX submissions_body_idx ON submissions (eori, body_sha256, created_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX submissions_status_idx ON submissions (status, updated_at)`.execute(db);
  await sql`CREATE INDEX submissions_eori_idx ON submissions (eori, created_at DESC)`.execute(db);
  await sql`CREATE INDEX submissions_lrn_idx ON submissions (lrn) WHERE lrn IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX submissions_movement_idx ON submissions (movement_type, movement_id) WHERE movement_id IS NOT NULL`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS submissions`.execute(db);
}
