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

/** What the stored authority row says, as eoriConnection and the traders view read it. */
export interface StoredAuthority {
  eori: string;
  kind: 'user' | 'application';
  consentedAt: Date;
  accessExpiresAt: Date;
  hasRefreshToken: boolean;
  /** When HMRC refused the refresh token (invalid_grant); null when it never did. */
  refreshRefusedAt: Date | null;
  verification: 'unverified' | 'verified' | 'mismatched';
  vouched: boolean;
}

/**
 * When HMRC stops refreshing an authority granted at `consentedAt` (18 months on), the day
 * clamped to the month's last as PostgreSQL's interval arithmetic does (31 Aug + 18 months is
 * 28 Feb, not 3 March).
 */
export function reconsentByOf(consentedAt: Date): Date {
  const result = new Date(consentedAt);
  const day = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() + reconsentMonths);
  const lastDay = new Date(
    Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0),
  ).getUTCDate();
  result.setUTCDate(Math.min(day, lastDay));
  return result;
}

/** The state of a stored authority at `now` (the rules eoriConnection applies). */
export function connectionStateOf(row: StoredAuthority | undefined, now: Date): EoriConnection {
  if (row === undefined || row.kind !== 'user')
    return { state: 'not-connected', eori: row?.eori ?? '' };
  const { eori } = row;
  if (row.verification === 'mismatched') return { state: 'mismatched', eori };
  // HMRC refused a refresh: it was tried because the access token had expired or HMRC had
  // refused it (after a sandbox restart, say), so that access token is of no use either.
  if (row.refreshRefusedAt !== null) return { state: 'refresh-refused', eori };
  const unverified = row.verification === 'unverified' && !row.vouched;
  // The worker uses a valid access token as it is, whatever the state of its refresh token.
  if (row.accessExpiresAt.getTime() > now.getTime())
    return unverified ? { state: 'unverified', eori } : { state: 'connected', eori };
  if (!row.hasRefreshToken) return { state: 'refresh-refused', eori };
  const reconsentBy = reconsentByOf(row.consentedAt);
  if (reconsentBy.getTime() <= now.getTime())
    return { state: 'consent-expired', eori, consentedAt: row.consentedAt, reconsentBy };
  return unverified ? { state: 'unverified', eori } : { state: 'connected', eori };
}

export async function eoriConnection(db: Db, eori: string): Promise<EoriConnection> {
  const row = await db
    .selectFrom('oauth_tokens')
    .select([
      'kind',
      'consented_at',
      'access_expires_at',
      sql<boolean>`refresh_token IS NOT NULL`.as('refreshable'),
      'refresh_refused_at',
      'verification',
      'vouched',
      sql<Date>`now()`.as('now'),
    ])
    .where('subject', '=', eori)
    .executeTakeFirst();
  if (row === undefined) return { state: 'not-connected', eori };
  return connectionStateOf(
    {
      eori,
      kind: row.kind,
      consentedAt: row.consented_at,
      accessExpiresAt: row.access_expires_at,
      hasRefreshToken: row.refreshable,
      refreshRefusedAt: row.refresh_refused_at,
      verification: row.verification,
      vouched: row.vouched,
    },
    row.now,
  );
}
