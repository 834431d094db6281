import { sql, type Kysely } from 'kysely';

// The operators' overview (/ops) counts messages stored per minute over the last hour from
// `events`. Events are append-only in time order, so a BRIN index on created_at (a few pages per
// partition, almost free to maintain) narrows that count to the newest blocks instead of a scan
// of the whole month's partition.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX events_created_at_brin ON events USING brin (created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS events_created_at_brin`.execute(db);
}
