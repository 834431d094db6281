import { sql, type Kysely } from 'kysely';

// notifications_id_idx (notification_id) duplicated the leading column of the primary key
// (notification_id, created_at): a lookup by id alone uses the primary key in each partition just
// as well, so the extra index only cost one more B-tree insert per notification stored.
// messages_movement_idx and messages_request_idx stay: the CTC sweep finds a movement's messages
// across partitions (no movement_month) and the api filters messages by request id.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS notifications_id_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS notifications_id_idx ON notifications (notification_id)`.execute(
    db,
  );
}
