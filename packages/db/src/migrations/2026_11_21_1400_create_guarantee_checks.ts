import { sql, type Kysely } from 'kysely';

// Guarantee Balance checks (HMRC Guarantee Balance API v2.0). HMRC allows one request per minute
// per GRN and counts a failed request too, so:
//  - guarantee_windows holds one row per GRN: the check that owns the current minute and when
//    that minute started. Claiming it is one INSERT … ON CONFLICT … WHERE claimed_at is older
//    than the window, so two replicas can never both win; no row lock is held across HMRC's call.
//  - guarantee_checks is the history: one row per claimed window (an HMRC call, or an attempt at
//    one), with its outcome. Only a keyed hash of the access code is kept, never the code: it is
//    what lets a cached balance be shown again to the trader who proved they know the code.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE guarantee_checks (
      id               uuid PRIMARY KEY,
      grn              text NOT NULL,
      eori             text NOT NULL,
      -- Which API key asked (first 8 hex of its SHA-256).
      api_key_id       text NOT NULL,
      -- HMAC-SHA256 over GRN, EORI and the upper-cased access code, with a server-side key.
      access_code_hmac bytea NOT NULL,
      status           text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'calling', 'completed')),
      outcome          text CHECK (outcome IN ('balance', 'not-found', 'invalid-guarantee-type',
                         'throttled', 'rejected', 'hmrc-unavailable', 'unauthorized',
                         'not-connected', 'token-unavailable', 'abandoned')),
      -- numeric keeps HMRC's decimal exactly.
      balance          numeric,
      currency         text,
      -- HTTP status of HMRC's last answer, when it answered.
      hmrc_status      integer,
      error_code       text,
      error_message    text,
      requested_at     timestamptz NOT NULL DEFAULT now(),
      -- When the call to HMRC was sent, and when the check ended (for a balance: HMRC's answer).
      started_at       timestamptz,
      completed_at     timestamptz,
      CHECK ((status = 'completed') = (outcome IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX guarantee_checks_grn_idx ON guarantee_checks (grn, requested_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX guarantee_checks_eori_idx ON guarantee_checks (eori, requested_at DESC)`.execute(
    db,
  );

  // Deliberately no foreign key to guarantee_checks: this row is a lock, and history retention
  // must be free to delete old checks.
  await sql`
    CREATE TABLE guarantee_windows (
      grn        text PRIMARY KEY,
      check_id   uuid NOT NULL,
      -- Start of the current minute: the claim, moved to when HMRC answered once it has.
      claimed_at timestamptz NOT NULL,
      -- HMRC's own Retry-After, when it answered 429: no new call before this either.
      not_before timestamptz
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS guarantee_windows`.execute(db);
  await sql`DROP TABLE IF EXISTS guarantee_checks`.execute(db);
}
