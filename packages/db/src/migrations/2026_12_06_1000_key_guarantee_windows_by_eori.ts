import { sql, type Kysely } from 'kysely';

// HMRC's Guarantee Balance lock is per user and GRN (SHA-256(internalId + GRN), reference §5),
// and the user is the trader whose token we send. A window per GRN alone let any trader spend
// every other trader's minute for that GRN: one wrong access code from tenant B and tenant A got
// 429 for a minute, repeatable, and learnt that someone had checked the GRN. The window is now
// per (eori, grn), like HMRC's lock.
//
// The partial index serves the per-key cap on checks in flight (GUARANTEE_BALANCE_MAX_IN_FLIGHT_
// PER_KEY): it holds only the few unfinished checks, whatever the history's size.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE guarantee_windows ADD COLUMN eori text`.execute(db);
  await sql`
    UPDATE guarantee_windows w SET eori = c.eori
    FROM guarantee_checks c WHERE c.id = w.check_id`.execute(db);
  // A window whose check's history is gone names no trader; it can only have been blocking the
  // GRN for everyone, and is at most a minute old in practice.
  await sql`DELETE FROM guarantee_windows WHERE eori IS NULL`.execute(db);
  await sql`ALTER TABLE guarantee_windows ALTER COLUMN eori SET NOT NULL`.execute(db);
  await sql`ALTER TABLE guarantee_windows DROP CONSTRAINT guarantee_windows_pkey`.execute(db);
  await sql`ALTER TABLE guarantee_windows ADD PRIMARY KEY (eori, grn)`.execute(db);
  await sql`
    CREATE INDEX guarantee_checks_in_flight_idx ON guarantee_checks (api_key_id)
    WHERE status <> 'completed'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS guarantee_checks_in_flight_idx`.execute(db);
  // Back to one window per GRN: keep the most recent claim of each.
  await sql`
    DELETE FROM guarantee_windows w
    USING guarantee_windows newer
    WHERE newer.grn = w.grn AND (newer.claimed_at, newer.eori) > (w.claimed_at, w.eori)`.execute(
    db,
  );
  await sql`ALTER TABLE guarantee_windows DROP CONSTRAINT guarantee_windows_pkey`.execute(db);
  await sql`ALTER TABLE guarantee_windows ADD PRIMARY KEY (grn)`.execute(db);
  await sql`ALTER TABLE guarantee_windows DROP COLUMN eori`.execute(db);
}
