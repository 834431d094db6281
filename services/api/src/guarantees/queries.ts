import type { Db, GuaranteeCheckOutcome, GuaranteeCheckStatus } from '@ctc-hub/db';
import { sql } from 'kysely';
import { accessCodeTtlMs } from './access-code.js';

/**
 * The api's side of guarantee_checks and guarantee_windows (migration
 * 2026_11_21_1400_create_guarantee_checks). Every time comparison runs on the database clock, so
 * api replicas with drifting clocks still agree on when a GRN's minute ends.
 */

export interface NewCheck {
  checkId: string;
  grn: string;
  eori: string;
  apiKeyId: string;
  accessCodeHmac: Buffer;
  windowSeconds: number;
}

/**
 * claimed: this check owns the trader's minute for the GRN and must be queued; held: another
 * check owns it; key-limit: the API key already has `maxInFlight` checks waiting for HMRC, so
 * nothing was claimed.
 */
export type Claim = 'claimed' | 'held' | 'key-limit';

/**
 * A check still `queued` after this long cannot call HMRC any more (its access code has expired
 * in Redis, access-code.ts), and one `calling` for as long has lost its worker: neither counts
 * against its key's share, so a lost job cannot lock a key out.
 */
const inFlightHorizonSeconds = accessCodeTtlMs / 1000;

/**
 * Claims the trader's window for the GRN and records the check, in one transaction. The claim is
 * a single INSERT … ON CONFLICT DO UPDATE … WHERE the current window is over: concurrent claims
 * (any replica) serialise on the row, and the losers see the winner's fresh claimed_at and update
 * nothing.
 *
 * With `maxInFlight` > 0 the API key's unfinished checks are counted first, under an advisory
 * lock on the key (claims are short and never wait for HMRC), so concurrent requests of one key
 * cannot all slip under its share of the HMRC budget.
 */
export function claimWindow(db: Db, check: NewCheck, maxInFlight: number): Promise<Claim> {
  return db.transaction().execute(async (trx): Promise<Claim> => {
    if (maxInFlight > 0) {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`guarantee-key:${check.apiKeyId}`}, 0))`.execute(
        trx,
      );
      const inFlight = await sql<{ count: number }>`
        SELECT count(*)::int AS count FROM guarantee_checks
        WHERE api_key_id = ${check.apiKeyId} AND status <> 'completed'
          AND requested_at > now() - make_interval(secs => ${inFlightHorizonSeconds})`.execute(trx);
      if ((inFlight.rows[0]?.count ?? 0) >= maxInFlight) return 'key-limit';
    }
    const claimed = await sql<{ check_id: string }>`
      INSERT INTO guarantee_windows AS w (eori, grn, check_id, claimed_at)
      VALUES (${check.eori}, ${check.grn}, ${check.checkId}, now())
      ON CONFLICT (eori, grn) DO UPDATE
        SET check_id = excluded.check_id, claimed_at = excluded.claimed_at, not_before = NULL
        WHERE w.claimed_at <= now() - make_interval(secs => ${check.windowSeconds})
          AND (w.not_before IS NULL OR w.not_before <= now())
      RETURNING w.check_id`.execute(trx);
    if (claimed.rows.length === 0) return 'held';
    await trx
      .insertInto('guarantee_checks')
      .values({
        id: check.checkId,
        grn: check.grn,
        eori: check.eori,
        api_key_id: check.apiKeyId,
        access_code_hmac: check.accessCodeHmac,
        started_at: null,
        completed_at: null,
        outcome: null,
        balance: null,
        currency: null,
        hmrc_status: null,
        error_code: null,
        error_message: null,
      })
      .execute();
    return 'claimed';
  });
}

/**
 * The check that holds the trader's window for a GRN, with the seconds left (≤ 0: the window is
 * over). Another trader's checks of the same GRN never show here.
 */
export interface WindowHolder {
  checkId: string;
  /** Null when the holder's row is gone (history deleted): treated as someone else's. */
  eori: string | null;
  accessCodeHmac: Buffer | null;
  status: GuaranteeCheckStatus | null;
  secondsLeft: number;
}

export async function windowHolder(
  db: Db,
  eori: string,
  grn: string,
  windowSeconds: number,
): Promise<WindowHolder | undefined> {
  const result = await sql<{
    check_id: string;
    eori: string | null;
    access_code_hmac: Buffer | null;
    status: GuaranteeCheckStatus | null;
    seconds_left: number;
  }>`
    SELECT w.check_id, c.eori, c.access_code_hmac, c.status,
           ceil(extract(epoch FROM greatest(w.claimed_at + make_interval(secs => ${windowSeconds}),
                                            w.not_before) - now()))::int AS seconds_left
    FROM guarantee_windows w LEFT JOIN guarantee_checks c ON c.id = w.check_id
    WHERE w.eori = ${eori} AND w.grn = ${grn}`.execute(db);
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return {
    checkId: row.check_id,
    eori: row.eori,
    accessCodeHmac: row.access_code_hmac,
    status: row.status,
    secondsLeft: row.seconds_left,
  };
}

export interface CheckState {
  id: string;
  grn: string;
  eori: string;
  status: GuaranteeCheckStatus;
  outcome: GuaranteeCheckOutcome | null;
  balance: string | null;
  currency: string | null;
  hmrcStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  completedAt: Date | null;
  /** Whole seconds since completed_at (database clock). */
  ageSeconds: number | null;
  /** Seconds until the trader's window for the GRN ends, when this check holds it; else 0. */
  windowSecondsLeft: number;
}

export async function checkState(
  db: Db,
  checkId: string,
  windowSeconds: number,
): Promise<CheckState | undefined> {
  const result = await sql<{
    id: string;
    grn: string;
    eori: string;
    status: GuaranteeCheckStatus;
    outcome: GuaranteeCheckOutcome | null;
    balance: string | null;
    currency: string | null;
    hmrc_status: number | null;
    error_code: string | null;
    error_message: string | null;
    completed_at: Date | null;
    age_seconds: number | null;
    window_seconds_left: number | null;
  }>`
    SELECT c.id, c.grn, c.eori, c.status, c.outcome, c.balance, c.currency, c.hmrc_status,
           c.error_code, c.error_message, c.completed_at,
           greatest(0, floor(extract(epoch FROM now() - c.completed_at)))::int AS age_seconds,
           ceil(extract(epoch FROM greatest(w.claimed_at + make_interval(secs => ${windowSeconds}),
                                            w.not_before) - now()))::int AS window_seconds_left
    FROM guarantee_checks c
    LEFT JOIN guarantee_windows w ON w.eori = c.eori AND w.grn = c.grn AND w.check_id = c.id
    WHERE c.id = ${checkId}`.execute(db);
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return {
    id: row.id,
    grn: row.grn,
    eori: row.eori,
    status: row.status,
    outcome: row.outcome,
    balance: row.balance,
    currency: row.currency,
    hmrcStatus: row.hmrc_status,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    completedAt: row.completed_at,
    ageSeconds: row.age_seconds,
    windowSecondsLeft: Math.max(0, row.window_seconds_left ?? 0),
  };
}

/**
 * The check never reached the queue: record why and give the window back, since HMRC was not
 * called and the minute is not spent. Only while the check still holds it.
 */
export async function abandonCheck(
  db: Db,
  check: { checkId: string; eori: string; grn: string },
  errorCode: string,
  errorMessage: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('guarantee_checks')
      .set({
        status: 'completed',
        outcome: 'abandoned',
        error_code: errorCode,
        error_message: errorMessage,
        completed_at: sql<Date>`now()`,
      })
      .where('id', '=', check.checkId)
      .where('status', '=', 'queued')
      .execute();
    await trx
      .deleteFrom('guarantee_windows')
      .where('eori', '=', check.eori)
      .where('grn', '=', check.grn)
      .where('check_id', '=', check.checkId)
      .execute();
  });
}
