import { sql, type Kysely } from 'kysely';

// Bodies over 1 MiB move to `body_large`, stored out of line *uncompressed* (STORAGE EXTERNAL),
// and `body` keeps an empty value for them (issue 14 §1). The api serves such a body in 256 KiB
// `substring` chunks; on a compressed TOAST value PostgreSQL fetches every compressed chunk and
// decompresses from the start for each slice (lz4 has no partial fetch), so a body cost O(size²)
// to send. On an uncompressed value a slice fetches only the TOAST rows it spans: linear.
// The price is disk: such a body takes its full size instead of about a tenth of it; bodies this
// large are a fraction of a percent of messages. Smaller bodies stay in `body`, lz4-compressed.
//
// A row trigger makes the split, so every writer (the worker's batch insert, COPY, tests) stores
// large bodies the same way without knowing of it; its WHEN clause is evaluated without calling
// the function, so small bodies pay one octet_length of an in-memory value. Readers take
// coalesce(body_large, body): packages/db's schema documents both columns.

const threshold = 1024 * 1024;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE messages ADD COLUMN body_large bytea`.execute(db);
  // Recurses to every partition; partitions created later copy it from the parent.
  await sql`ALTER TABLE messages ALTER COLUMN body_large SET STORAGE EXTERNAL`.execute(db);
  await sql`
    CREATE FUNCTION ctc_messages_large_body() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- A value that arrives compressed (INSERT … SELECT of a stored body) would be moved out of
      -- line as it is; the concatenation hands over a plain copy, stored uncompressed.
      NEW.body_large := NEW.body || '\\x'::bytea;
      NEW.body := '\\x'::bytea;
      RETURN NEW;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER messages_large_body BEFORE INSERT OR UPDATE OF body ON messages
      FOR EACH ROW WHEN (octet_length(NEW.body) > ${sql.lit(threshold)})
      EXECUTE FUNCTION ctc_messages_large_body()`.execute(db);
  // Existing large bodies: octet_length of a TOASTed value reads its header, not the value; the
  // concatenation decompresses (a stored value would be moved over still compressed).
  await sql`
    UPDATE messages SET body_large = body || '\\x'::bytea, body = '\\x'::bytea
     WHERE octet_length(body) > ${sql.lit(threshold)}`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER messages_large_body ON messages`.execute(db);
  await sql`DROP FUNCTION ctc_messages_large_body()`.execute(db);
  await sql`UPDATE messages SET body = body_large WHERE body_large IS NOT NULL`.execute(db);
  await sql`ALTER TABLE messages DROP COLUMN body_large`.execute(db);
}
