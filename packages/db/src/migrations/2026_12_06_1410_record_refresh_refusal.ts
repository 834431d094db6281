import { sql, type Kysely } from 'kysely';

// When HMRC refuses a trader's refresh token (invalid_grant: revoked, already used, or a sandbox
// that forgot it), the token store drops the refresh token. That alone cannot tell a refusal from
// an authority that merely had none, nor say when it happened; operators need both to see that a
// connection is broken and since when. A new consent clears them.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE oauth_tokens
      ADD COLUMN refresh_refused_at timestamptz,
      ADD COLUMN refresh_error text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE oauth_tokens
      DROP COLUMN IF EXISTS refresh_error,
      DROP COLUMN IF EXISTS refresh_refused_at`.execute(db);
}
