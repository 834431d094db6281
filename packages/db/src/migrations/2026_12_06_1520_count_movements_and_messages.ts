import { sql, type Kysely } from 'kysely';

// Exact totals of the big lists without counting them (issue 14 §1). HMRC's lists carry an exact
// `totalCount`, so every page of an unfiltered list ran count(*) over all of a type's movements
// (240,000 rows in a year: 80-140 ms), and /v1/messages?boxId= over every message of a box.
//
// movement_counts and message_counts hold *deltas*: each statement that inserts or deletes rows
// appends one row per group it touched (n > 0 or < 0), in its own transaction, so a reader's
// snapshot sums to exactly count(*) of the same snapshot, and writers never update a shared row
// (no hot row for concurrent ingest batches to queue on). compactCounts (packages/db/src/counts)
// folds the deltas into one row per group every few seconds.
//
//  - movements: grouped by what the list filters and the key's scope can ask (type, both EORIs,
//    an HMRC-style hex id, quarantined). Inserts and deletes by statement-level triggers over the
//    transition tables (one aggregate insert per statement: per ingest batch, per retention
//    delete); a row trigger for the rare update that changes one of those columns (its WHEN
//    clause is checked without calling the function, so the ingest upsert's other updates cost
//    nothing).
//  - messages: grouped by the month (the partition), type of movement, box and message type.
//    Inserts by a statement-level trigger on the parent; deletes by a row trigger, which is
//    cloned to the partitions, so retention's delete from messages_default counts too. A
//    partition dropped by retention takes its month's rows with it (retention.ts deletes them in
//    the same transaction as the DROP).
// TRUNCATE of either table empties its counts.

const hexId = `movement_id ~ '^[0-9a-f]{16}$'`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE movement_counts (
      movement_type   text NOT NULL,
      enrollment_eori text,
      movement_eori   text,
      hex_id          boolean NOT NULL,
      quarantined     boolean NOT NULL,
      n               bigint NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX movement_counts_type_idx ON movement_counts (movement_type)`.execute(db);
  await sql`
    CREATE TABLE message_counts (
      movement_month date NOT NULL,
      movement_type  text NOT NULL,
      box_id         uuid,
      message_type   text,
      n              bigint NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX message_counts_month_idx ON message_counts (movement_month)`.execute(db);

  await sql
    .raw(
      `
    CREATE FUNCTION ctc_count_movements_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO movement_counts
      SELECT movement_type, enrollment_eori, movement_eori, ${hexId}, quarantined_at IS NOT NULL,
             count(*)
        FROM inserted GROUP BY 1, 2, 3, 4, 5;
      RETURN NULL;
    END $$;
    CREATE FUNCTION ctc_count_movements_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO movement_counts
      SELECT movement_type, enrollment_eori, movement_eori, ${hexId}, quarantined_at IS NOT NULL,
             -count(*)
        FROM deleted GROUP BY 1, 2, 3, 4, 5;
      RETURN NULL;
    END $$;
    CREATE FUNCTION ctc_count_movement_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO movement_counts VALUES
        (OLD.movement_type, OLD.enrollment_eori, OLD.movement_eori,
         OLD.movement_id ~ '^[0-9a-f]{16}$', OLD.quarantined_at IS NOT NULL, -1),
        (NEW.movement_type, NEW.enrollment_eori, NEW.movement_eori,
         NEW.movement_id ~ '^[0-9a-f]{16}$', NEW.quarantined_at IS NOT NULL, 1);
      RETURN NULL;
    END $$;
    CREATE FUNCTION ctc_count_movements_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM movement_counts;
      RETURN NULL;
    END $$;

    CREATE TRIGGER movements_count_insert AFTER INSERT ON movements
      REFERENCING NEW TABLE AS inserted
      FOR EACH STATEMENT EXECUTE FUNCTION ctc_count_movements_inserted();
    CREATE TRIGGER movements_count_delete AFTER DELETE ON movements
      REFERENCING OLD TABLE AS deleted
      FOR EACH STATEMENT EXECUTE FUNCTION ctc_count_movements_deleted();
    CREATE TRIGGER movements_count_update
      AFTER UPDATE OF movement_type, movement_id, enrollment_eori, movement_eori, quarantined_at
      ON movements FOR EACH ROW
      WHEN (OLD.movement_type IS DISTINCT FROM NEW.movement_type
         OR OLD.movement_id IS DISTINCT FROM NEW.movement_id
         OR OLD.enrollment_eori IS DISTINCT FROM NEW.enrollment_eori
         OR OLD.movement_eori IS DISTINCT FROM NEW.movement_eori
         OR (OLD.quarantined_at IS NULL) <> (NEW.quarantined_at IS NULL))
      EXECUTE FUNCTION ctc_count_movement_changed();
    CREATE TRIGGER movements_count_truncate AFTER TRUNCATE ON movements
      FOR EACH STATEMENT EXECUTE FUNCTION ctc_count_movements_truncated();

    CREATE FUNCTION ctc_count_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO message_counts
      SELECT movement_month, movement_type, box_id, message_type, count(*)
        FROM inserted GROUP BY 1, 2, 3, 4;
      RETURN NULL;
    END $$;
    CREATE FUNCTION ctc_count_message_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO message_counts
        VALUES (OLD.movement_month, OLD.movement_type, OLD.box_id, OLD.message_type, -1);
      END IF;
      IF TG_OP = 'UPDATE' THEN
        INSERT INTO message_counts
        VALUES (NEW.movement_month, NEW.movement_type, NEW.box_id, NEW.message_type, 1);
      END IF;
      RETURN NULL;
    END $$;
    CREATE FUNCTION ctc_count_messages_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM message_counts;
      RETURN NULL;
    END $$;

    CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
      REFERENCING NEW TABLE AS inserted
      FOR EACH STATEMENT EXECUTE FUNCTION ctc_count_messages_inserted();
    CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
      FOR EACH ROW EXECUTE FUNCTION ctc_count_message_changed();
    CREATE TRIGGER messages_count_update
      AFTER UPDATE OF movement_month, movement_type, box_id, message_type ON messages FOR EACH ROW
      WHEN (OLD.movement_month IS DISTINCT FROM NEW.movement_month
         OR OLD.movement_type IS DISTINCT FROM NEW.movement_type
         OR OLD.box_id IS DISTINCT FROM NEW.box_id
         OR OLD.message_type IS DISTINCT FROM NEW.message_type)
      EXECUTE FUNCTION ctc_count_message_changed();
    CREATE TRIGGER messages_count_truncate AFTER TRUNCATE ON messages
      FOR EACH STATEMENT EXECUTE FUNCTION ctc_count_messages_truncated();
  `,
    )
    .execute(db);

  // What is there already, counted once (the triggers' locks keep writers out meanwhile).
  await sql
    .raw(
      `
    INSERT INTO movement_counts
    SELECT movement_type, enrollment_eori, movement_eori, ${hexId}, quarantined_at IS NOT NULL,
           count(*)
      FROM movements GROUP BY 1, 2, 3, 4, 5`,
    )
    .execute(db);
  await sql`
    INSERT INTO message_counts
    SELECT movement_month, movement_type, box_id, message_type, count(*)
      FROM messages GROUP BY 1, 2, 3, 4`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const trigger of [
    'movements_count_insert ON movements',
    'movements_count_delete ON movements',
    'movements_count_update ON movements',
    'movements_count_truncate ON movements',
    'messages_count_insert ON messages',
    'messages_count_delete ON messages',
    'messages_count_update ON messages',
    'messages_count_truncate ON messages',
  ])
    await sql.raw(`DROP TRIGGER ${trigger}`).execute(db);
  for (const fn of [
    'ctc_count_movements_inserted',
    'ctc_count_movements_deleted',
    'ctc_count_movement_changed',
    'ctc_count_movements_truncated',
    'ctc_count_messages_inserted',
    'ctc_count_message_changed',
    'ctc_count_messages_truncated',
  ])
    await sql.raw(`DROP FUNCTION ${fn}()`).execute(db);
  await sql`DROP TABLE movement_counts, message_counts`.execute(db);
}
