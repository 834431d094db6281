import { sql, type Kysely } from 'kysely';

// The dead letters of each replay, fixed when the replay is confirmed. The set is a snapshot
// (a replay never covers more than the operator confirmed), and each item's state is what makes
// the replay job resumable and idempotent:
//   pending   not looked at yet
//   queuing   the letter was marked replayed (and its work prepared) in one transaction, but the
//             job may not be in Redis yet; a resumed replay adds it again under the same job id
//   replayed | skipped | failed   final, with a reason for the last two

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE replay_items (
      replay_id      uuid NOT NULL REFERENCES replays (id) ON DELETE CASCADE,
      position       integer NOT NULL,
      dead_letter_id uuid NOT NULL REFERENCES dead_letters (id) ON DELETE CASCADE,
      state          text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'queuing', 'replayed', 'skipped', 'failed')),
      job_id         text,
      reason         text,
      processed_at   timestamptz,
      PRIMARY KEY (replay_id, position),
      UNIQUE (replay_id, dead_letter_id)
    )`.execute(db);
  await sql`CREATE INDEX replay_items_open_idx ON replay_items (replay_id, position) WHERE state IN ('pending', 'queuing')`.execute(
    db,
  );
  // Deleting a dead letter (ON DELETE CASCADE) finds its items through this index.
  await sql`CREATE INDEX replay_items_letter_idx ON replay_items (dead_letter_id)`.execute(db);
  await sql`CREATE INDEX replays_created_idx ON replays (created_at DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS replays_created_idx`.execute(db);
  await sql`DROP TABLE IF EXISTS replay_items`.execute(db);
}
