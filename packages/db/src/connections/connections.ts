import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { ConnectionVerification } from '../schema/oauth.table.js';

/**
 * Trader connections (a user token row per EORI) and what HMRC's answers have shown about them.
 *
 * A token is filed under the EORI its connect flow was started for, but HMRC never says whose it
 * is. HMRC's answers do: every movement HMRC lists for a token, and every PPNS notification,
 * names its enrolment EORI. So a connection starts `unverified`, becomes `verified` when HMRC
 * first names its own EORI, and `mismatched` when HMRC names another: the token is then never used
 * again and what came through it is quarantined (hidden from EORI-scoped keys) until an operator
 * resolves it. This module is the only writer of those columns.
 */

/** A connection's movements hidden from scoped keys, with the reason shown to operators. */
export interface MismatchInput {
  connectionId: string;
  /** The EORI HMRC's answers named. */
  observedEori: string;
  /** What showed it: which call or notification, for the operator. */
  detail: string;
}

export interface MismatchResult {
  /** False when the connection was already mismatched (or is gone: replaced by a new consent). */
  marked: boolean;
  /** The EORI the connection is filed under, when it still exists. */
  eori: string | null;
  /** Movements newly quarantined. */
  quarantined: number;
}

/**
 * Marks the connection mismatched (idempotent), quarantines every movement that came through it
 * and records it in the audit log, in one transaction. Waits at most `lockTimeoutMs` for the
 * token row (a refresh may hold it across an HMRC call); a 55P03 then propagates and the caller
 * tries again later — the next sweep or notification finds the mismatch again anyway.
 */
export async function markConnectionMismatched(
  db: Db,
  input: MismatchInput,
  options: { lockTimeoutMs?: number } = {},
): Promise<MismatchResult> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('lock_timeout', ${String(options.lockTimeoutMs ?? 5000)}, true)`.execute(
      trx,
    );
    const marked = await trx
      .updateTable('oauth_tokens')
      .set({
        verification: 'mismatched',
        observed_eori: input.observedEori,
        mismatch_at: sql<Date>`now()`,
        mismatch_detail: input.detail,
        updated_at: sql<Date>`now()`,
      })
      .where('connection_id', '=', input.connectionId)
      .where('verification', '<>', 'mismatched')
      .returning('subject')
      .executeTakeFirst();
    const existing =
      marked ??
      (await trx
        .selectFrom('oauth_tokens')
        .select('subject')
        .where('connection_id', '=', input.connectionId)
        .executeTakeFirst());
    const eori = existing?.subject ?? null;
    const quarantined = await trx
      .updateTable('movements')
      .set({
        quarantined_at: sql<Date>`now()`,
        quarantine_reason: `came through the HMRC connection of ${eori ?? 'a replaced connection'}, whose token HMRC shows belongs to ${input.observedEori}`,
      })
      .where('via_connection', '=', input.connectionId)
      .where('quarantined_at', 'is', null)
      .executeTakeFirst();
    if (marked !== undefined) {
      await trx
        .insertInto('audit_log')
        .values({
          actor: 'system',
          action: 'connection.mismatched',
          target: JSON.stringify({ eori, connectionId: input.connectionId }),
          outcome: 'quarantined',
          details: JSON.stringify({
            observedEori: input.observedEori,
            detail: input.detail,
            quarantinedMovements: Number(quarantined.numUpdatedRows),
          }),
        })
        .execute();
    }
    return {
      marked: marked !== undefined,
      eori,
      quarantined: Number(quarantined.numUpdatedRows),
    };
  });
}

/** HMRC named the connection's own EORI: it is verified (a no-op unless it was unverified). */
export async function markConnectionVerified(db: Db, connectionId: string): Promise<boolean> {
  const result = await db
    .updateTable('oauth_tokens')
    .set({ verification: 'verified', verified_at: sql<Date>`now()` })
    .where('connection_id', '=', connectionId)
    .where('verification', '=', 'unverified')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * An operator vouches for an unverified connection (having checked who signed in at HMRC): it may
 * then act before HMRC's answers confirm it. HMRC's answers still decide: a later mismatch stops
 * it all the same. False when there is no unverified connection for the EORI.
 */
export async function vouchForConnection(db: Db, eori: string): Promise<boolean> {
  const result = await db
    .updateTable('oauth_tokens')
    .set({ vouched: true })
    .where('subject', '=', eori)
    .where('kind', '=', 'user')
    .where('verification', '=', 'unverified')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface ConnectionRow {
  eori: string;
  connectionId: string | null;
  verification: ConnectionVerification;
  /** An operator stands behind it (started by an operator key, or confirmed). */
  vouched: boolean;
  verifiedAt: Date | null;
  observedEori: string | null;
  mismatchAt: Date | null;
  mismatchDetail: string | null;
  connectedBy: string | null;
  consentedAt: Date;
  accessExpiresAt: Date;
  /** False once HMRC refused the refresh token (the trader must connect again). */
  hasRefreshToken: boolean;
  /** When HMRC refused the refresh token, and its OAuth error (invalid_grant). */
  refreshRefusedAt: Date | null;
  refreshError: string | null;
  /** The last successful refresh, and how many there have been since the consent. */
  refreshedAt: Date | null;
  refreshCount: number;
  quarantinedMovements: number;
}

/** User connections, by EORI; `eoris` limits them to a scoped key's EORIs. */
export async function listConnections(
  db: Db,
  options: { eoris?: readonly string[]; eori?: string } = {},
): Promise<ConnectionRow[]> {
  let query = db
    .selectFrom('oauth_tokens as t')
    .select([
      't.subject',
      't.connection_id',
      't.verification',
      't.vouched',
      't.verified_at',
      't.observed_eori',
      't.mismatch_at',
      't.mismatch_detail',
      't.connected_by',
      't.consented_at',
      't.access_expires_at',
      sql<boolean>`(t.refresh_token IS NOT NULL)`.as('has_refresh_token'),
      't.refresh_refused_at',
      't.refresh_error',
      't.refreshed_at',
      't.refresh_count',
      sql<number>`(SELECT count(*) FROM movements m
        WHERE m.via_connection = t.connection_id AND m.quarantined_at IS NOT NULL)::int`.as(
        'quarantined_movements',
      ),
    ])
    .where('t.kind', '=', 'user')
    .orderBy('t.subject');
  if (options.eoris !== undefined) query = query.where('t.subject', 'in', [...options.eoris, '']);
  if (options.eori !== undefined) query = query.where('t.subject', '=', options.eori);
  const rows = await query.execute();
  return rows.map((row) => ({
    eori: row.subject,
    connectionId: row.connection_id,
    verification: row.verification,
    vouched: row.vouched,
    verifiedAt: row.verified_at,
    observedEori: row.observed_eori,
    mismatchAt: row.mismatch_at,
    mismatchDetail: row.mismatch_detail,
    connectedBy: row.connected_by,
    consentedAt: row.consented_at,
    accessExpiresAt: row.access_expires_at,
    hasRefreshToken: row.has_refresh_token,
    refreshRefusedAt: row.refresh_refused_at,
    refreshError: row.refresh_error,
    refreshedAt: row.refreshed_at,
    refreshCount: Number(row.refresh_count),
    quarantinedMovements: row.quarantined_movements,
  }));
}

export type QuarantineResolution = 'release' | 'discard';

export interface ResolveResult {
  /** Whether a mismatched connection was removed (the trader must connect again). */
  disconnected: boolean;
  released: number;
  discarded: number;
}

/**
 * An operator's answer to a mismatched connection: the token is deleted (only a new consent,
 * signed in as the right trader, connects the EORI again), and the quarantined movements that came
 * through it are either released — filed under the enrolment EORI HMRC reported, and visible
 * to keys scoped to that EORI — or discarded with their messages. Only mismatched connections can
 * be resolved; the caller checks and audits.
 */
export async function resolveMismatchedConnection(
  db: Db,
  eori: string,
  resolution: QuarantineResolution,
): Promise<ResolveResult | undefined> {
  return db.transaction().execute(async (trx) => {
    const connection = await trx
      .deleteFrom('oauth_tokens')
      .where('subject', '=', eori)
      .where('kind', '=', 'user')
      .where('verification', '=', 'mismatched')
      .returning(['connection_id', 'observed_eori'])
      .executeTakeFirst();
    if (connection === undefined || connection.connection_id === null) return undefined;
    const connectionId = connection.connection_id;
    if (resolution === 'release') {
      const released = await trx
        .updateTable('movements')
        .set({
          // Our claims made through the wrong token are HMRC's enrolment of the real trader.
          enrollment_eori: sql<string>`CASE WHEN enrollment_verified THEN enrollment_eori
            ELSE ${connection.observed_eori} END`,
          enrollment_verified: sql<boolean>`enrollment_verified OR ${connection.observed_eori !== null}`,
          quarantined_at: null,
          quarantine_reason: null,
        })
        .where('via_connection', '=', connectionId)
        .where('quarantined_at', 'is not', null)
        .executeTakeFirst();
      return { disconnected: true, released: Number(released.numUpdatedRows), discarded: 0 };
    }
    const doomed = await trx
      .selectFrom('movements')
      .select(['movement_type', 'movement_id', 'retention_month'])
      .where('via_connection', '=', connectionId)
      .where('quarantined_at', 'is not', null)
      .execute();
    for (const movement of doomed) {
      await trx
        .deleteFrom('messages')
        .where('movement_month', '=', movement.retention_month)
        .where('movement_type', '=', movement.movement_type)
        .where('movement_id', '=', movement.movement_id)
        .execute();
    }
    const discarded = await trx
      .deleteFrom('movements')
      .where('via_connection', '=', connectionId)
      .where('quarantined_at', 'is not', null)
      .executeTakeFirst();
    return { disconnected: true, released: 0, discarded: Number(discarded.numDeletedRows) };
  });
}
