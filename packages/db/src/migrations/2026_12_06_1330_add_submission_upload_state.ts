import { sql, type Kysely } from 'kysely';

// The large-declaration route has two steps at HMRC (initiate, then upload the file). Where a
// submission stands between them was kept inside `hmrc_response` (`uploadRequest`, `uploaded`)
// and read back with a cast. It becomes two columns: `upload_state` (NULL before initiation,
// then `initiated`, then `uploaded`) and `upload_request` (HMRC's form: href and fields).
// Submissions in flight when this runs carry their state over from the JSON.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE submissions
      ADD COLUMN upload_state text
        CHECK (upload_state IN ('initiated', 'uploaded')),
      ADD COLUMN upload_request jsonb`.execute(db);
  await sql`
    UPDATE submissions
       SET upload_request = hmrc_response -> 'uploadRequest',
           upload_state = CASE WHEN hmrc_response ->> 'uploaded' = 'true'
                               THEN 'uploaded' ELSE 'initiated' END
     WHERE route = 'large'
       AND hmrc_message_id IS NOT NULL
       AND hmrc_response ? 'uploadRequest'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE submissions DROP COLUMN IF EXISTS upload_request,
                            DROP COLUMN IF EXISTS upload_state`.execute(db);
}
