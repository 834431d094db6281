import { sql, type Kysely } from 'kysely';

// Core storage for the inbound path. Bulky, append-mostly tables (notifications, messages,
// events) are range-partitioned by month so retention drops whole partitions instead of deleting
// rows. Each partition key is chosen so that every idempotency key maps to exactly one partition:
//   notifications: PPNS createdDateTime (the same on every push, retry and pull of a notification)
//   messages:      the month the movement was first recorded (fixed on the movement row)
//   events:        commit time (append-only, no deduplication)
// A DEFAULT partition catches rows outside the prepared months, so inserts never fail.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE movements (
      movement_type   text NOT NULL CHECK (movement_type IN ('departure', 'arrival')),
      movement_id     text NOT NULL,
      enrollment_eori text,
      movement_eori   text,
      mrn             text,
      lrn             text,
      box_id          uuid,
      request_id      text NOT NULL,
      status          text NOT NULL DEFAULT 'unknown',
      api_version     text,
      message_count   integer NOT NULL DEFAULT 0,
      retention_month date NOT NULL DEFAULT date_trunc('month', now())::date,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      last_message_at timestamptz,
      PRIMARY KEY (movement_type, movement_id)
    )`.execute(db);
  await sql`CREATE INDEX movements_updated_idx ON movements (movement_type, updated_at, movement_id)`.execute(
    db,
  );
  await sql`CREATE INDEX movements_eori_idx ON movements (enrollment_eori, movement_type, updated_at)`.execute(
    db,
  );
  await sql`CREATE INDEX movements_movement_eori_idx ON movements (movement_eori, movement_type, updated_at) WHERE movement_eori IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX movements_mrn_idx ON movements (mrn) WHERE mrn IS NOT NULL`.execute(db);
  await sql`CREATE INDEX movements_lrn_idx ON movements (lrn) WHERE lrn IS NOT NULL`.execute(db);
  await sql`CREATE INDEX movements_box_idx ON movements (box_id) WHERE box_id IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX movements_retention_idx ON movements (retention_month)`.execute(db);

  await sql`
    CREATE TABLE notifications (
      notification_id   uuid NOT NULL,
      created_at        timestamptz NOT NULL,
      box_id            uuid NOT NULL,
      source            text NOT NULL,
      status            text NOT NULL CHECK (status IN ('queued', 'stored', 'duplicate', 'quarantined')),
      payload_version   text,
      notification_type text,
      movement_type     text,
      movement_id       text,
      message_id        text,
      message_type      text,
      enrollment_eori   text,
      envelope          text NOT NULL,
      error             text,
      error_history     jsonb NOT NULL DEFAULT '[]',
      received_at       timestamptz NOT NULL,
      processed_at      timestamptz NOT NULL DEFAULT now(),
      trace_id          text,
      PRIMARY KEY (notification_id, created_at)
    ) PARTITION BY RANGE (created_at)`.execute(db);
  await sql`CREATE INDEX notifications_id_idx ON notifications (notification_id)`.execute(db);
  await sql`CREATE INDEX notifications_movement_idx ON notifications (movement_type, movement_id)`.execute(
    db,
  );
  await sql`CREATE INDEX notifications_status_idx ON notifications (status, processed_at) WHERE status <> 'stored'`.execute(
    db,
  );
  await sql`CREATE TABLE notifications_default PARTITION OF notifications DEFAULT`.execute(db);

  await sql`
    CREATE TABLE messages (
      movement_month         date NOT NULL,
      movement_type          text NOT NULL,
      movement_id            text NOT NULL,
      message_id             text NOT NULL,
      message_type           text,
      root_element           text,
      phase                  text,
      direction              text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
      known_type             boolean NOT NULL,
      received_at            timestamptz NOT NULL,
      prepared_at            timestamp,
      message_identification text,
      correlation_identifier text,
      mrn                    text,
      lrn                    text,
      size_bytes             integer NOT NULL,
      sha256                 bytea NOT NULL,
      summary                jsonb NOT NULL,
      parse_error            text,
      source                 text NOT NULL,
      box_id                 uuid,
      request_id             text NOT NULL,
      notification_id        uuid,
      hmrc_status            text NOT NULL DEFAULT 'Received',
      stored_at              timestamptz NOT NULL DEFAULT now(),
      body                   bytea NOT NULL,
      PRIMARY KEY (movement_month, movement_type, movement_id, message_id)
    ) PARTITION BY RANGE (movement_month)`.execute(db);
  // XML compresses about tenfold; lz4 is several times cheaper than the default pglz.
  await sql`ALTER TABLE messages ALTER COLUMN body SET COMPRESSION lz4`.execute(db);
  await sql`CREATE INDEX messages_movement_idx ON messages (movement_type, movement_id, received_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX messages_box_idx ON messages (box_id, received_at DESC) WHERE box_id IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX messages_request_idx ON messages (request_id, received_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX messages_type_idx ON messages (message_type, received_at DESC)`.execute(
    db,
  );
  await sql`CREATE TABLE messages_default PARTITION OF messages DEFAULT`.execute(db);

  await sql`
    CREATE TABLE events (
      id             bigserial NOT NULL,
      xid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
      created_at     timestamptz NOT NULL DEFAULT now(),
      kind           text NOT NULL,
      movement_type  text,
      movement_id    text,
      message_id     text,
      submission_id  uuid,
      eori           text,
      data           jsonb NOT NULL DEFAULT '{}',
      PRIMARY KEY (id, created_at)
    ) PARTITION BY RANGE (created_at)`.execute(db);
  await sql`CREATE INDEX events_cursor_idx ON events (xid, id)`.execute(db);
  await sql`CREATE TABLE events_default PARTITION OF events DEFAULT`.execute(db);

  await sql`
    CREATE TABLE oauth_tokens (
      subject           text PRIMARY KEY,
      kind              text NOT NULL CHECK (kind IN ('user', 'application')),
      access_token      text NOT NULL,
      refresh_token     text,
      scope             text,
      access_expires_at timestamptz NOT NULL,
      consented_at      timestamptz NOT NULL,
      refreshed_at      timestamptz,
      refresh_count     integer NOT NULL DEFAULT 0,
      updated_at        timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE oauth_states (
      state      text PRIMARY KEY,
      eori       text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    )`.execute(db);

  await sql`
    CREATE TABLE dead_letters (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      dedupe_key      text NOT NULL UNIQUE,
      kind            text NOT NULL,
      queue           text,
      job_id          text,
      error_code      text NOT NULL,
      error_message   text NOT NULL,
      error_history   jsonb NOT NULL DEFAULT '[]',
      payload         jsonb NOT NULL,
      notification_id uuid,
      box_id          uuid,
      eori            text,
      movement_type   text,
      movement_id     text,
      message_id      text,
      status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'resolved', 'purged')),
      occurrences     integer NOT NULL DEFAULT 1,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      replayed_at     timestamptz,
      replay_count    integer NOT NULL DEFAULT 0
    )`.execute(db);
  await sql`CREATE INDEX dead_letters_list_idx ON dead_letters (status, created_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX dead_letters_kind_idx ON dead_letters (kind, error_code, created_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX dead_letters_eori_idx ON dead_letters (eori, created_at DESC) WHERE eori IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX dead_letters_box_idx ON dead_letters (box_id, created_at DESC) WHERE box_id IS NOT NULL`.execute(
    db,
  );

  // Creates monthly partitions [from, to] for a parent table; safe to call repeatedly.
  await sql`
    CREATE FUNCTION ctc_ensure_monthly_partitions(parent text, from_month date, to_month date)
    RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE
      month date := date_trunc('month', from_month)::date;
      created integer := 0;
      partition_name text;
    BEGIN
      WHILE month <= to_month LOOP
        partition_name := format('%s_%s', parent, to_char(month, 'YYYY_MM'));
        IF to_regclass(partition_name) IS NULL THEN
          BEGIN
            EXECUTE format(
              'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
              partition_name, parent, month, (month + interval '1 month')::date);
            created := created + 1;
          EXCEPTION WHEN duplicate_table OR check_violation THEN
            -- Another process created it first, or rows for that month already sit in the
            -- default partition; they stay there (still queried, still dropped by retention).
            NULL;
          END;
        END IF;
        month := (month + interval '1 month')::date;
      END LOOP;
      RETURN created;
    END $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS ctc_ensure_monthly_partitions(text, date, date)`.execute(db);
  for (const table of [
    'dead_letters',
    'oauth_states',
    'oauth_tokens',
    'events',
    'messages',
    'notifications',
    'movements',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)} CASCADE`.execute(db);
  }
}
