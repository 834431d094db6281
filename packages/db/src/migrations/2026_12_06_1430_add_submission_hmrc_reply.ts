import { sql, type Kysely } from 'kysely';

// HMRC's own answer to a submission, kept as HMRC sent it (issue 12 §1): the HMRC-compatible
// write routes (POST /customs/transits/movements/…) hand it to the trader's software unchanged,
// status, the headers that describe the body, and the body itself (a 202's `_links`, ids and
// box; a 400's validationErrors). `hmrc_response` stays our parsed view of it.
//   { "status": 202, "headers": { "content-type": "application/json" }, "body": "{…}" }
// Null until HMRC has answered; the latest answer when it answered more than once (a 5xx, then
// the 202).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE submissions ADD COLUMN hmrc_reply jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE submissions DROP COLUMN hmrc_reply`.execute(db);
}
