import type { Db } from '@ctc-hub/db';
import { sql } from 'kysely';
import { reconsentMonths } from './token-rows.js';

/**
 * Whether the hub can act at HMRC for an EORI right now, decided from its stored authority
 * alone: no decryption, no call to HMRC. The api asks this before it accepts work for an EORI
 * (a declaration, a balance check), so a request that cannot reach HMRC is answered at once
 * instead of being queued, retried for minutes and failed. Work already queued keeps its own
 * handling (the worker retries, then dead-letters).
 *
 * The one place that decides it: add a state here, and the compiler points at every answer that
 * must say something about it (the api's connection.ts).
 *
 * Fails open on purpose where the stored row cannot tell: a refresh token that is still stored
 * and within 18 months counts as usable, although HMRC may still refuse it; the worker's retries
 * and dead letter cover that case, as they cover an authority revoked after queueing.
 */
export type EoriConnection =
  /** An access token valid now, or a refresh token HMRC should still honour. */
  | { state: 'connected'; eori: string }
  /** No user token stored for this EORI: nobody connected it (GET /oauth/hmrc/start). */
  | { state: 'not-connected'; eori: string }
  /** Granted 18 months ago or more: HMRC no longer refreshes it (reference §3.7). */
  | { state: 'consent-expired'; eori: string; consentedAt: Date; reconsentBy: Date }
  /** HMRC refused the refresh token for good (invalid_grant), or none is stored. */
  | { state: 'refresh-refused'; eori: string }
  /**
   * HMRC's answers showed the token acts for another EORI (someone else signed in at HMRC): it is
   * never used; an operator resolves it and the trader connects again.
   */
  | { state: 'mismatched'; eori: string }
  /**
   * Nothing HMRC answered yet shows the token is this EORI's, and no operator vouches for it (the
   * flow was started by a key limited to the EORI): it reads, but does not act.
   */
  | { state: 'unverified'; eori: string };

export type EoriConnectionState = EoriConnection['state'];

export async function eoriConnection(db: Db, eori: string): Promise<EoriConnection> {
  const reconsentBy = sql<Date>`consented_at + make_interval(months => ${reconsentMonths})`;
  const row = await db
    .selectFrom('oauth_tokens')
    .select([
      'kind',
      'consented_at',
      reconsentBy.as('reconsent_by'),
      sql<boolean>`refresh_token IS NOT NULL`.as('refreshable'),
      sql<boolean>`access_expires_at > now()`.as('access_valid'),
      sql<boolean>`${reconsentBy} <= now()`.as('consent_expired'),
      'verification',
      'vouched',
    ])
    .where('subject', '=', eori)
    .executeTakeFirst();
  if (row === undefined || row.kind !== 'user') return { state: 'not-connected', eori };
  if (row.verification === 'mismatched') return { state: 'mismatched', eori };
  // The worker uses a valid access token as it is, whatever the state of its refresh token.
  if (row.access_valid)
    return row.verification === 'unverified' && !row.vouched
      ? { state: 'unverified', eori }
      : { state: 'connected', eori };
  if (!row.refreshable) return { state: 'refresh-refused', eori };
  if (row.consent_expired) {
    return {
      state: 'consent-expired',
      eori,
      consentedAt: row.consented_at,
      reconsentBy: row.reconsent_by,
    };
  }
  if (row.verification === 'unverified' && !row.vouched) return { state: 'unverified', eori };
  return { state: 'connected', eori };
}
