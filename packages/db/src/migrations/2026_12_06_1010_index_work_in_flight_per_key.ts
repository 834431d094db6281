import { sql, type Kysely } from 'kysely';

// Per-key shares of shared budgets are checked on every request that would add work: the
// replays a key has running (REPLAY_MAX_RUNNING_PER_KEY) and the declarations it has waiting for
// HMRC (SUBMISSION_MAX_IN_FLIGHT_PER_KEY). Partial indexes hold only those few unfinished rows,
// so the count stays cheap however long the history grows.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE INDEX replays_running_by_key_idx ON replays (requested_by)
    WHERE status = 'running'`.execute(db);
  await sql`
    CREATE INDEX submissions_in_flight_by_key_idx ON submissions (api_key_id)
    WHERE status IN ('queued', 'sending')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS submissions_in_flight_by_key_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS replays_running_by_key_idx`.execute(db);
}
