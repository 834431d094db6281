import { sql, type Kysely } from 'kysely';

// Tenant isolation of the HMRC connect flow (issue 10 §1).
//
// oauth_tokens: every consent is a new connection (connection_id). Its verification says whether
// HMRC's own answers have shown which EORI the token acts for: 'unverified' until they do,
// 'verified' when they name the EORI it is filed under, 'mismatched' when they name another
// (the token is then never used again, and observed_eori / mismatch_* say what was seen).
//
// vouched: the flow was started by an operator's (unscoped) key, so the connection may be used
// before HMRC's answers confirm it; one started by a trader's own (scoped) key may not: a tenant
// could otherwise have another trader sign in and act as them before anything shows it.
//
// oauth_states: the flow is bound to the browser that started it (binding_hash: SHA-256 of a
// secret kept in a __Host- cookie) and records the API key that started it.
//
// movements: who says which enrolment a movement belongs to. enrollment_verified is true when
// HMRC reported it (PPNS payload, CTC list); false when it is our claim (a declaration we sent,
// a token's label). via_connection names the connection whose token created or fetched it, so a
// mismatched connection's data can be found and quarantined (hidden from scoped keys until an
// operator resolves it).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE oauth_tokens
      ADD COLUMN connection_id   uuid,
      ADD COLUMN verification    text NOT NULL DEFAULT 'unverified'
        CHECK (verification IN ('unverified', 'verified', 'mismatched')),
      ADD COLUMN verified_at     timestamptz,
      ADD COLUMN observed_eori   text,
      ADD COLUMN mismatch_at     timestamptz,
      ADD COLUMN mismatch_detail text,
      ADD COLUMN connected_by    text,
      ADD COLUMN vouched         boolean NOT NULL DEFAULT false`.execute(db);
  // Connections made before this migration were made by operators (no check existed): vouched.
  await sql`UPDATE oauth_tokens SET vouched = true WHERE kind = 'user'`.execute(db);
  await sql`UPDATE oauth_tokens SET connection_id = gen_random_uuid() WHERE kind = 'user'`.execute(
    db,
  );
  await sql`CREATE UNIQUE INDEX oauth_tokens_connection_idx ON oauth_tokens (connection_id)`.execute(
    db,
  );

  await sql`
    ALTER TABLE oauth_states
      ADD COLUMN binding_hash        text,
      ADD COLUMN started_by          text,
      ADD COLUMN started_by_operator boolean NOT NULL DEFAULT false`.execute(db);

  await sql`
    ALTER TABLE movements
      ADD COLUMN enrollment_verified boolean NOT NULL DEFAULT false,
      ADD COLUMN via_connection      uuid,
      ADD COLUMN quarantined_at      timestamptz,
      ADD COLUMN quarantine_reason   text`.execute(db);
  await sql`
    CREATE INDEX movements_via_connection_idx ON movements (via_connection)
      WHERE via_connection IS NOT NULL`.execute(db);
  await sql`
    CREATE INDEX movements_quarantined_idx ON movements (quarantined_at)
      WHERE quarantined_at IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS movements_quarantined_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS movements_via_connection_idx`.execute(db);
  await sql`
    ALTER TABLE movements
      DROP COLUMN quarantine_reason,
      DROP COLUMN quarantined_at,
      DROP COLUMN via_connection,
      DROP COLUMN enrollment_verified`.execute(db);
  await sql`
    ALTER TABLE oauth_states
      DROP COLUMN started_by_operator,
      DROP COLUMN started_by,
      DROP COLUMN binding_hash`.execute(db);
  await sql`DROP INDEX IF EXISTS oauth_tokens_connection_idx`.execute(db);
  await sql`
    ALTER TABLE oauth_tokens
      DROP COLUMN vouched,
      DROP COLUMN connected_by,
      DROP COLUMN mismatch_detail,
      DROP COLUMN mismatch_at,
      DROP COLUMN observed_eori,
      DROP COLUMN verified_at,
      DROP COLUMN verification,
      DROP COLUMN connection_id`.execute(db);
}
