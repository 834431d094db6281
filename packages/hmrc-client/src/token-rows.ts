import type { Database, Db } from '@ctc-hub/db';
import { sql, type Transaction } from 'kysely';
import type { TokenCipher } from './token-crypto.js';

/**
 * Row-level pieces of the token store shared by refresh and maintenance: the per-subject lock,
 * the encryption context of each column, the re-consent report and the key-rotation sweep.
 */

export type Trx = Transaction<Database>;

/** HMRC: "After 18 months you can no longer refresh the access token". */
export const reconsentMonths = 18;

/** Authenticated context of each encrypted column: a value only decrypts in its own row and column. */
export const tokenContext = (subject: string, column: 'access_token' | 'refresh_token') =>
  `oauth_tokens:${subject}:${column}`;

/**
 * Serialises writers of one subject across processes. Advisory lock (not only FOR UPDATE) so the
 * application token, whose row may not exist yet, is covered too; lock_timeout bounds the wait
 * behind another process's HMRC call (exceeding it raises 55P03, lock_not_available).
 */
export async function lockSubject(trx: Trx, subject: string, lockTimeoutMs: number): Promise<void> {
  await sql`SELECT set_config('lock_timeout', ${String(lockTimeoutMs)}, true)`.execute(trx);
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`ctc-hub:oauth_tokens:${subject}`}, 0))`.execute(
    trx,
  );
}

export interface NearReconsent {
  eori: string;
  consentedAt: Date;
  /** consented_at + 18 months: after this HMRC refuses to refresh. */
  reconsentBy: Date;
  expired: boolean;
}

/** User tokens whose 18-month limit falls before now + `days` (already passed included), soonest first. */
export async function listNearReconsent(
  db: Db,
  days: number,
  nowMs: number,
): Promise<NearReconsent[]> {
  const horizon = new Date(nowMs + days * 24 * 60 * 60 * 1000);
  const reconsentBy = sql<Date>`consented_at + make_interval(months => ${reconsentMonths})`;
  const rows = await db
    .selectFrom('oauth_tokens')
    .select(['subject', 'consented_at', reconsentBy.as('reconsent_by')])
    .where('kind', '=', 'user')
    .where(sql<boolean>`${reconsentBy} <= ${horizon}`)
    .orderBy('reconsent_by')
    .execute();
  return rows.map((row) => ({
    eori: row.subject,
    consentedAt: row.consented_at,
    reconsentBy: row.reconsent_by,
    expired: row.reconsent_by.getTime() <= nowMs,
  }));
}

/** Rewrites, row by row under the subject lock, every value not encrypted with the newest key. */
export async function reencryptTokens(
  db: Db,
  cipher: TokenCipher,
  lock: (trx: Trx, subject: string) => Promise<void>,
): Promise<{ reencrypted: number; failed: string[] }> {
  const prefix = `v1.${cipher.currentKeyId}.%`;
  const stale = await db
    .selectFrom('oauth_tokens')
    .select('subject')
    .where((eb) =>
      eb.or([
        eb('access_token', 'not like', prefix),
        eb.and([eb('refresh_token', 'is not', null), eb('refresh_token', 'not like', prefix)]),
      ]),
    )
    .execute();
  let reencrypted = 0;
  const failed: string[] = [];
  for (const { subject } of stale) {
    const done = await db.transaction().execute(async (trx) => {
      await lock(trx, subject);
      const row = await trx
        .selectFrom('oauth_tokens')
        .selectAll()
        .where('subject', '=', subject)
        .forUpdate()
        .executeTakeFirst();
      if (row === undefined) return true;
      const access = cipher.decrypt(row.access_token, tokenContext(subject, 'access_token'));
      const refresh =
        row.refresh_token === null
          ? undefined
          : cipher.decrypt(row.refresh_token, tokenContext(subject, 'refresh_token'));
      // A value no configured key opens is left as it is and reported, never overwritten.
      if (!access.ok || (refresh !== undefined && !refresh.ok)) return false;
      await trx
        .updateTable('oauth_tokens')
        .set({
          access_token: cipher.encrypt(access.plaintext, tokenContext(subject, 'access_token')),
          refresh_token:
            refresh === undefined
              ? null
              : cipher.encrypt(refresh.plaintext, tokenContext(subject, 'refresh_token')),
        })
        .where('subject', '=', subject)
        .execute();
      return true;
    });
    if (done) reencrypted += 1;
    else failed.push(subject);
  }
  return { reencrypted, failed };
}
