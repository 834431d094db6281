import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** queued: waiting in the hmrc queue; calling: the worker took it; completed: `outcome` is set. */
export type GuaranteeCheckStatus = 'queued' | 'calling' | 'completed';

export type GuaranteeCheckOutcome =
  /** HMRC answered 200 with the balance. */
  | 'balance'
  /** 404: unknown GRN or wrong access code (HMRC does not say which). */
  | 'not-found'
  /** 400 INVALID_GUARANTEE_TYPE: only types 0, 1 and 9 can be checked. */
  | 'invalid-guarantee-type'
  /** 429 from HMRC. */
  | 'throttled'
  /** Any other 4xx from HMRC. */
  | 'rejected'
  /** 5xx, timeout, broken connection or an answer we could not read. */
  | 'hmrc-unavailable'
  /** HMRC refused the EORI's token even after a refresh (401), or the enrolment (403). */
  | 'unauthorized'
  /** No usable authority is stored for the EORI; HMRC was not called. */
  | 'not-connected'
  /** The token could not be refreshed or decrypted; HMRC was not called. */
  | 'token-unavailable'
  /** Never sent: queueing failed, the window was lost or the access code expired. */
  | 'abandoned';

export interface GuaranteeChecksTable {
  id: string;
  grn: string;
  eori: string;
  api_key_id: string;
  /** Keyed hash of the access code (never the code itself). */
  access_code_hmac: Buffer;
  status: Generated<GuaranteeCheckStatus>;
  outcome: GuaranteeCheckOutcome | null;
  /** Postgres numeric, as text so no decimal is lost. */
  balance: ColumnType<string | null, string | null, string | null>;
  currency: string | null;
  hmrc_status: number | null;
  error_code: string | null;
  error_message: string | null;
  requested_at: Generated<Date>;
  started_at: Date | null;
  completed_at: Date | null;
}

/**
 * One row per trader and GRN (HMRC's lock is per user and GRN): the check owning HMRC's current
 * one-minute window for that trader's requests about that GRN.
 */
export interface GuaranteeWindowsTable {
  eori: string;
  grn: string;
  check_id: string;
  claimed_at: Date;
  not_before: Date | null;
}

export type GuaranteeCheck = Selectable<GuaranteeChecksTable>;
export type NewGuaranteeCheck = Insertable<GuaranteeChecksTable>;
export type GuaranteeWindow = Selectable<GuaranteeWindowsTable>;
