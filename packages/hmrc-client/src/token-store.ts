import { randomUUID } from 'node:crypto';
import type { Db, OauthToken } from '@ctc-hub/db';
import type { Logger } from '@ctc-hub/telemetry';
import type { Meter } from '@opentelemetry/api';
import { sql } from 'kysely';
import { createTokenMetrics, type TokenMetrics } from './metrics.js';
import {
  isInvalidGrant,
  ppnsApplicationScopes,
  type OAuthClient,
  type OAuthError,
  type TokenSet,
} from './oauth-client.js';
import type { TokenCipher } from './token-crypto.js';
import {
  listNearReconsent,
  lockSubject,
  reencryptTokens,
  tokenContext,
  type NearReconsent,
  type Trx,
} from './token-rows.js';

export { reconsentMonths, type NearReconsent } from './token-rows.js';

/**
 * OAuth tokens in `oauth_tokens`, encrypted at rest, refreshed on demand.
 *
 * HMRC refresh tokens are single use: if two worker replicas spent the same one, the second
 * would get invalid_grant and the trader would have to consent again. So every refresh (and every
 * write of a subject's tokens) runs inside one transaction holding a per-subject advisory lock
 * plus the row lock, re-reads the row after taking the lock, calls HMRC, and stores the new pair
 * before committing. Within one process, concurrent callers for the same subject also share one
 * in-flight refresh, so they do not each hold a database connection while waiting.
 *
 * A refresh that HMRC performed but whose commit then failed (database lost mid-way) cannot be
 * recovered: the old refresh token is spent and the new one is gone. That is logged as an error
 * and surfaces as reconsent-required on the next refresh.
 */

export type TokenError =
  /** No tokens for this EORI: nobody has connected it (GET /oauth/hmrc/start). */
  | { kind: 'not-connected'; subject: string; message: string }
  /** The refresh token is dead (invalid_grant, none stored, 18 months passed): connect again. */
  | {
      kind: 'reconsent-required';
      subject: string;
      reason: 'invalid_grant' | 'no-refresh-token';
      message: string;
    }
  /** HMRC could not refresh now (retryable), or refused for a reason consent will not fix. */
  | {
      kind: 'refresh-failed';
      subject: string;
      retryable: boolean;
      retryAfterMs?: number;
      message: string;
      cause?: OAuthError;
    }
  /** The stored value cannot be decrypted: a key is missing from TOKEN_ENCRYPTION_KEYS. */
  | { kind: 'undecryptable'; subject: string; message: string }
  /**
   * HMRC's answers showed the token acts for another EORI than it is filed under: it is never
   * used again. An operator resolves the connection; the trader connects again.
   */
  | { kind: 'mismatched'; subject: string; observedEori: string | null; message: string };

/**
 * Fails closed: no token is ever returned unless it decrypted and is valid beyond the margin.
 * Throws only when the database itself fails (the job framework retries those).
 */
export type AccessTokenResult =
  | {
      ok: true;
      accessToken: string;
      expiresAt: Date;
      /**
       * The trader connection the token belongs to (null for the application token). Data it
       * fetches or creates is tagged with it, so a connection found mismatched can be quarantined.
       */
      connectionId: string | null;
      /** Whether HMRC's answers have confirmed the EORI yet (always 'verified' for the application). */
      verification: 'unverified' | 'verified';
      /** An operator stands behind the connection: usable while unverified (oauth_tokens.vouched). */
      vouched: boolean;
    }
  | { ok: false; error: TokenError };

export interface TokenStoreOptions {
  db: Db;
  cipher: TokenCipher;
  oauth: OAuthClient;
  logger?: Logger;
  /** Wall clock in ms. */
  now?: () => number;
  /** Refresh when the access token expires within this (HMRC's last seconds are not worth the risk). */
  refreshMarginMs?: number;
  /**
   * Longest a caller waits for another process's refresh of the same subject; beyond it the
   * caller gets a retryable refresh-failed. Keep it above HMRC_REQUEST_TIMEOUT_MS.
   */
  lockTimeoutMs?: number;
  /** Scopes of the application (client-credentials) token; PPNS pull by default. */
  applicationScopes?: readonly string[];
  meter?: Meter;
}

const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

export class TokenStore {
  private readonly db: Db;
  private readonly cipher: TokenCipher;
  private readonly oauth: OAuthClient;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly refreshMarginMs: number;
  private readonly lockTimeoutMs: number;
  private readonly applicationScopes: readonly string[];
  private readonly metrics: TokenMetrics;
  private readonly inFlight = new Map<string, Promise<AccessTokenResult>>();

  constructor(options: TokenStoreOptions) {
    this.db = options.db;
    this.cipher = options.cipher;
    this.oauth = options.oauth;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 45_000;
    this.applicationScopes = options.applicationScopes ?? ppnsApplicationScopes;
    this.metrics = createTokenMetrics(options.meter);
  }

  /** Subject of the client-credentials token in oauth_tokens. */
  get applicationSubject(): string {
    return `application:${this.oauth.clientId}`;
  }

  /**
   * Stores the tokens of a new consent (after the authorization-code exchange): consented_at is
   * now, which restarts the 18-month clock, and the refresh counters reset.
   */
  async saveUserTokens(
    eori: string,
    tokens: TokenSet,
    options: { connectedBy?: string; vouched?: boolean } = {},
  ): Promise<{ connectionId: string }> {
    if (!eoriPattern.test(eori)) throw new Error('saveUserTokens: not an EORI');
    const now = new Date(this.now());
    // Every consent is a new connection, unverified until HMRC's answers name its EORI.
    const connectionId = randomUUID();
    await this.db.transaction().execute(async (trx) => {
      await this.lockSubject(trx, eori);
      const values = {
        kind: 'user' as const,
        access_token: this.cipher.encrypt(tokens.accessToken, tokenContext(eori, 'access_token')),
        refresh_token:
          tokens.refreshToken === undefined
            ? null
            : this.cipher.encrypt(tokens.refreshToken, tokenContext(eori, 'refresh_token')),
        scope: tokens.scope ?? null,
        access_expires_at: tokens.expiresAt,
        consented_at: now,
        refreshed_at: null,
        refresh_count: 0,
        updated_at: now,
        connection_id: connectionId,
        verification: 'unverified' as const,
        verified_at: null,
        observed_eori: null,
        mismatch_at: null,
        mismatch_detail: null,
        connected_by: options.connectedBy ?? null,
        vouched: options.vouched ?? false,
        refresh_refused_at: null,
        refresh_error: null,
      };
      await trx
        .insertInto('oauth_tokens')
        .values({ subject: eori, ...values })
        .onConflict((conflict) => conflict.column('subject').doUpdateSet(values))
        .execute();
    });
    this.logger?.info({ eori, connectionId }, 'hmrc tokens stored for a new consent');
    return { connectionId };
  }

  /** A valid access token for the trader, refreshing it first when it expires within the margin. */
  async getAccessToken(eori: string): Promise<AccessTokenResult> {
    if (!eoriPattern.test(eori)) {
      return { ok: false, error: { kind: 'not-connected', subject: eori, message: 'not an EORI' } };
    }
    const row = await this.db
      .selectFrom('oauth_tokens')
      .selectAll()
      .where('subject', '=', eori)
      .executeTakeFirst();
    if (row === undefined || row.kind !== 'user') return notConnected(eori);
    if (row.verification === 'mismatched') return mismatched(row);
    if (this.isFresh(row)) return this.decryptAccess(row);
    return this.singleFlight(eori, () => this.refreshUnderLock(eori, undefined));
  }

  /**
   * After HMRC answered 401 to `rejectedAccessToken`: refresh unless another caller already
   * replaced that token (then the newer one is returned). Without `rejectedAccessToken` the
   * refresh always happens, so pass it: ten jobs hitting the same 401 then cost one refresh.
   */
  async forceRefresh(eori: string, rejectedAccessToken?: string): Promise<AccessTokenResult> {
    if (!eoriPattern.test(eori)) {
      return { ok: false, error: { kind: 'not-connected', subject: eori, message: 'not an EORI' } };
    }
    const joined = this.inFlight.get(eori);
    if (joined !== undefined) {
      const result = await joined;
      if (!result.ok || result.accessToken !== rejectedAccessToken) return result;
    }
    return this.singleFlight(eori, () =>
      this.refreshUnderLock(eori, { rejected: rejectedAccessToken }),
    );
  }

  /** The application-restricted token (client credentials, PPNS pull), cached in oauth_tokens. */
  async getApplicationToken(): Promise<AccessTokenResult> {
    const subject = this.applicationSubject;
    const row = await this.db
      .selectFrom('oauth_tokens')
      .selectAll()
      .where('subject', '=', subject)
      .executeTakeFirst();
    if (row !== undefined && this.isFresh(row)) return this.decryptAccess(row);
    return this.singleFlight(subject, () => this.grantApplicationUnderLock(undefined));
  }

  /** After a 401 on an application-restricted call; same contract as forceRefresh. */
  async forceApplicationRefresh(rejectedAccessToken?: string): Promise<AccessTokenResult> {
    const joined = this.inFlight.get(this.applicationSubject);
    if (joined !== undefined) {
      const result = await joined;
      if (!result.ok || result.accessToken !== rejectedAccessToken) return result;
    }
    return this.singleFlight(this.applicationSubject, () =>
      this.grantApplicationUnderLock({ rejected: rejectedAccessToken }),
    );
  }

  /**
   * Traders whose authority ends within `days` (or already ended), soonest first; also sets the
   * hmrc_tokens_near_reconsent gauge. Call it on a schedule (e.g. daily from the worker).
   */
  async listTokensNearReconsent(days: number): Promise<NearReconsent[]> {
    const near = await listNearReconsent(this.db, days, this.now());
    this.metrics.nearReconsent.record(near.length, { days });
    return near;
  }

  /**
   * Key rotation: rewrites every token not encrypted with the newest key. Run it after adding a
   * new key first in TOKEN_ENCRYPTION_KEYS; once it reports 0 left, old keys can be removed.
   */
  reencryptTokens(): Promise<{ reencrypted: number; failed: string[] }> {
    return reencryptTokens(this.db, this.cipher, (trx, subject) => this.lockSubject(trx, subject));
  }

  private isFresh(row: OauthToken): boolean {
    return row.access_expires_at.getTime() - this.now() > this.refreshMarginMs;
  }

  private decryptAccess(row: OauthToken): AccessTokenResult {
    const access = this.cipher.decrypt(row.access_token, tokenContext(row.subject, 'access_token'));
    if (!access.ok) return this.undecryptable(row.subject, access.error.message);
    return {
      ok: true,
      accessToken: access.plaintext,
      expiresAt: row.access_expires_at,
      connectionId: row.connection_id,
      verification: row.verification === 'unverified' ? 'unverified' : 'verified',
      vouched: row.vouched,
    };
  }

  private singleFlight(
    subject: string,
    run: () => Promise<AccessTokenResult>,
  ): Promise<AccessTokenResult> {
    const existing = this.inFlight.get(subject);
    if (existing !== undefined) return existing;
    const promise = run().finally(() => this.inFlight.delete(subject));
    this.inFlight.set(subject, promise);
    return promise;
  }

  private lockSubject(trx: Trx, subject: string): Promise<void> {
    return lockSubject(trx, subject, this.lockTimeoutMs);
  }

  private async refreshUnderLock(
    eori: string,
    force: { rejected: string | undefined } | undefined,
  ): Promise<AccessTokenResult> {
    let spent = false;
    try {
      return await this.db.transaction().execute(async (trx) => {
        await this.lockSubject(trx, eori);
        const row = await trx
          .selectFrom('oauth_tokens')
          .selectAll()
          .where('subject', '=', eori)
          .forUpdate()
          .executeTakeFirst();
        if (row === undefined || row.kind !== 'user') return notConnected(eori);
        if (row.verification === 'mismatched') return mismatched(row);

        // Another process may have refreshed while we waited for the lock.
        if (this.isFresh(row)) {
          const current = this.decryptAccess(row);
          if (force === undefined || !current.ok) return current;
          if (force.rejected !== undefined && current.accessToken !== force.rejected)
            return current;
        }

        if (row.refresh_token === null) {
          this.metrics.refreshFailures.add(1, { kind: 'user', reason: 'no_refresh_token' });
          // Say why, so a declaration retrying behind another task's refusal names the cause.
          const refusal =
            row.refresh_refused_at === null
              ? 'a previous refresh was refused'
              : `HMRC refused the last refresh (${row.refresh_error ?? 'refused'}) at ${row.refresh_refused_at.toISOString()}`;
          return reconsent(eori, 'no-refresh-token', `no refresh token is stored (${refusal})`);
        }
        const refreshToken = this.cipher.decrypt(
          row.refresh_token,
          tokenContext(eori, 'refresh_token'),
        );
        if (!refreshToken.ok) return this.undecryptable(eori, refreshToken.error.message);

        const refreshed = await this.oauth.refresh(refreshToken.plaintext);
        if (!refreshed.ok) return this.refreshFailed(trx, eori, refreshed.error);
        spent = true;

        const { tokens } = refreshed;
        const now = new Date(this.now());
        await trx
          .updateTable('oauth_tokens')
          .set({
            access_token: this.cipher.encrypt(
              tokens.accessToken,
              tokenContext(eori, 'access_token'),
            ),
            // HMRC always rotates the refresh token; keeping the old one if it ever did not is
            // the only choice that does not lose the grant.
            refresh_token:
              tokens.refreshToken === undefined
                ? row.refresh_token
                : this.cipher.encrypt(tokens.refreshToken, tokenContext(eori, 'refresh_token')),
            scope: tokens.scope ?? row.scope,
            access_expires_at: tokens.expiresAt,
            refreshed_at: now,
            refresh_count: sql<number>`refresh_count + 1`,
            updated_at: now,
          })
          .where('subject', '=', eori)
          .execute();
        this.metrics.refreshes.add(1, { kind: 'user' });
        this.logger?.info({ eori, expiresAt: tokens.expiresAt }, 'hmrc access token refreshed');
        return {
          ok: true,
          accessToken: tokens.accessToken,
          expiresAt: tokens.expiresAt,
          connectionId: row.connection_id,
          verification: row.verification === 'unverified' ? 'unverified' : 'verified',
          vouched: row.vouched,
        } as const;
      });
    } catch (error) {
      if (spent) {
        this.logger?.error(
          { eori, err: error },
          'hmrc refreshed the token but storing the new pair failed: the old refresh token is spent',
        );
      }
      return this.lockOrRethrow(eori, 'user', error);
    }
  }

  private async refreshFailed(
    trx: Trx,
    eori: string,
    error: OAuthError,
  ): Promise<AccessTokenResult> {
    if (isInvalidGrant(error)) {
      // The refresh token is dead: forget it so later calls answer reconsent-required at once
      // instead of spending HMRC's rate budget on a refusal. Committed with this transaction.
      await trx
        .updateTable('oauth_tokens')
        .set({
          refresh_token: null,
          refresh_refused_at: new Date(this.now()),
          refresh_error: 'invalid_grant',
          updated_at: new Date(this.now()),
        })
        .where('subject', '=', eori)
        .execute();
      this.metrics.refreshFailures.add(1, { kind: 'user', reason: 'invalid_grant' });
      this.logger?.warn(
        { eori },
        'hmrc refused the refresh token (invalid_grant): the trader must connect again',
      );
      return reconsent(
        eori,
        'invalid_grant',
        'HMRC refused the refresh token (invalid_grant): connect this EORI again',
      );
    }
    return this.grantFailure(eori, 'user', error);
  }

  private grantFailure(
    subject: string,
    kind: 'user' | 'application',
    error: OAuthError,
  ): AccessTokenResult {
    const retryable = error.kind === 'unavailable';
    const reason = retryable
      ? 'transient'
      : error.kind === 'rejected'
        ? 'rejected'
        : 'invalid_response';
    this.metrics.refreshFailures.add(1, { kind, reason });
    const message =
      error.kind === 'unavailable'
        ? `HMRC token endpoint unavailable (${error.cause.kind}): ${error.cause.message}`
        : `HMRC token endpoint ${error.kind === 'rejected' ? `refused (${error.code})` : 'answered badly'}: ${error.description}`;
    this.logger?.warn({ subject, reason }, message);
    const retryAfterMs =
      error.kind === 'unavailable' && error.cause.kind === 'rate-limited'
        ? error.cause.retryAfterMs
        : undefined;
    return {
      ok: false,
      error: {
        kind: 'refresh-failed',
        subject,
        retryable,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        message,
        cause: error,
      },
    };
  }

  private async grantApplicationUnderLock(
    force: { rejected: string | undefined } | undefined,
  ): Promise<AccessTokenResult> {
    const subject = this.applicationSubject;
    try {
      return await this.db.transaction().execute(async (trx) => {
        await this.lockSubject(trx, subject);
        const row = await trx
          .selectFrom('oauth_tokens')
          .selectAll()
          .where('subject', '=', subject)
          .forUpdate()
          .executeTakeFirst();
        if (row !== undefined && this.isFresh(row)) {
          const current = this.decryptAccess(row);
          if (force === undefined || !current.ok) return current;
          if (force.rejected !== undefined && current.accessToken !== force.rejected)
            return current;
        }
        const granted = await this.oauth.clientCredentials(this.applicationScopes);
        if (!granted.ok) return this.grantFailure(subject, 'application', granted.error);
        const { tokens } = granted;
        const now = new Date(this.now());
        const values = {
          kind: 'application' as const,
          access_token: this.cipher.encrypt(
            tokens.accessToken,
            tokenContext(subject, 'access_token'),
          ),
          refresh_token: null,
          scope: tokens.scope ?? this.applicationScopes.join(' '),
          access_expires_at: tokens.expiresAt,
          refreshed_at: now,
          updated_at: now,
        };
        await trx
          .insertInto('oauth_tokens')
          .values({ subject, ...values, consented_at: now, refresh_count: 1 })
          .onConflict((conflict) =>
            conflict.column('subject').doUpdateSet({
              ...values,
              refresh_count: sql<number>`oauth_tokens.refresh_count + 1`,
            }),
          )
          .execute();
        this.metrics.refreshes.add(1, { kind: 'application' });
        return {
          ok: true,
          accessToken: tokens.accessToken,
          expiresAt: tokens.expiresAt,
          connectionId: null,
          verification: 'verified',
          vouched: true,
        } as const;
      });
    } catch (error) {
      return this.lockOrRethrow(subject, 'application', error);
    }
  }

  private lockOrRethrow(
    subject: string,
    kind: 'user' | 'application',
    error: unknown,
  ): AccessTokenResult {
    // 55P03 lock_not_available: another process held the subject longer than lockTimeoutMs.
    if ((error as { code?: unknown }).code !== '55P03') throw error;
    this.metrics.refreshFailures.add(1, { kind, reason: 'lock_timeout' });
    return {
      ok: false,
      error: {
        kind: 'refresh-failed',
        subject,
        retryable: true,
        message: 'another process is refreshing this token; try again shortly',
      },
    };
  }

  private undecryptable(subject: string, message: string): AccessTokenResult {
    this.metrics.refreshFailures.add(1, {
      kind: subject.startsWith('application:') ? 'application' : 'user',
      reason: 'undecryptable',
    });
    this.logger?.error({ subject }, `stored hmrc token cannot be decrypted: ${message}`);
    return { ok: false, error: { kind: 'undecryptable', subject, message } };
  }
}

const notConnected = (eori: string): AccessTokenResult => ({
  ok: false,
  error: {
    kind: 'not-connected',
    subject: eori,
    message: `no HMRC authority stored for ${eori}: connect it first`,
  },
});

const mismatched = (row: OauthToken): AccessTokenResult => ({
  ok: false,
  error: {
    kind: 'mismatched',
    subject: row.subject,
    observedEori: row.observed_eori,
    message: `the HMRC token filed under ${row.subject} belongs to ${row.observed_eori ?? 'another EORI'} (HMRC's answers show it); it is not used. An operator must resolve the connection and ${row.subject} must connect again, signing in as ${row.subject}`,
  },
});

const reconsent = (
  eori: string,
  reason: 'invalid_grant' | 'no-refresh-token',
  message: string,
): AccessTokenResult => ({
  ok: false,
  error: { kind: 'reconsent-required', subject: eori, reason, message },
});
