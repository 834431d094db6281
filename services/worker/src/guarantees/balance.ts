import type { Db, GuaranteeCheckOutcome } from '@ctc-hub/db';
import type { HmrcError, TokenError } from '@ctc-hub/hmrc-client';
import { guaranteeBalanceData } from '@ctc-hub/queue';
import { SpanKind, withSpan, type Logger } from '@ctc-hub/telemetry';
import { UnrecoverableError, type Job } from 'bullmq';
import { sql } from 'kysely';
import { connectionMayAct } from '../connections/verify.js';
import type { HmrcDeps } from '../runtime/deps.js';

/**
 * `guarantee-balance`: one call to HMRC's Guarantee Balance API for a guarantee_checks row that
 * the api created after claiming the trader's window for the GRN (services/api/src/guarantees/).
 *
 * HMRC allows one request per minute per user and GRN (the user is the trader whose token we
 * send) and spends the minute even when the request fails,
 * so the job never retries (attempts 1) and every outcome, failures included, is written to the
 * row the waiting api request polls. The window row follows what HMRC saw:
 *  - a call that reached HMRC's service moves the window's start to HMRC's answer (the minute is
 *    spent from then on, whatever the answer);
 *  - a call that cannot have taken HMRC's lock (no token, 401/403 from the platform's auth, a
 *    connection never made) gives the window back so the trader can try again at once.
 *
 * Before calling, the job takes the check from `queued` to `calling` while re-asserting that it
 * still holds the window, in one transaction: a job that ran too late (its window was claimed by
 * a newer check) or a second delivery of the same job (stalled-job recovery) never calls HMRC.
 */

// Where the api leaves the encrypted access code: keep in step with
// services/api/src/guarantees/access-code.ts.
const accessCodeKey = (prefix: string, checkId: string) =>
  `${prefix}:guarantee-access-code:${checkId}`;
const accessCodeContext = (checkId: string) => `guarantee_checks:${checkId}:access_code`;

/**
 * HMRC answers 429 for two reasons: the API platform's per-application limit (3 requests/s) and
 * the Guarantee Balance service's per-user+GRN lock. Our own window means we never ask twice for
 * a GRN within a minute, so the lock is only hit when the same HMRC user asked elsewhere. The
 * platform limit is short (the sandbox says Retry-After: 1), the lock is a minute (the sandbox
 * says 60; HMRC's service sends no Retry-After, which the client reads as 1 s). A short wait is
 * therefore taken as the platform limit and pauses the whole hmrc queue, protecting the shared
 * budget; a long one only delays this GRN. Mistaking a lock for the limit costs a 1 s pause.
 */
const platformRetryAfterMaxMs = 10_000;

/** How a check ends. `spent`: HMRC's service may have taken its per-user+GRN lock. */
interface Settlement {
  outcome: GuaranteeCheckOutcome;
  spent: boolean;
  hmrcStatus?: number;
  balance?: { balance: number; currency: string };
  errorCode?: string;
  errorMessage?: string;
  /** HMRC's Retry-After, for 429. */
  retryAfterMs?: number;
}

/** The trader's window for the GRN (HMRC's lock is per user and GRN). */
interface WindowKey {
  eori: string;
  grn: string;
}

type Start =
  | ({ kind: 'started' } & WindowKey)
  /** Already completed, or no such check: nothing to do. */
  | { kind: 'skip' }
  /** A previous delivery stopped during its HMRC call. */
  | ({ kind: 'interrupted' } & WindowKey)
  /** A newer check owns the window: calling now could break HMRC's one-per-minute rule. */
  | ({ kind: 'window-lost' } & WindowKey);

export function createGuaranteeBalanceProcessor(deps: HmrcDeps) {
  return async (job: Job): Promise<{ outcome: GuaranteeCheckOutcome | 'skipped' }> => {
    const parsed = guaranteeBalanceData.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        `job data does not match the catalogue: ${parsed.error.message}`,
      );
    }
    const { checkId, trace } = parsed.data;
    return withSpan(
      'hmrc.guarantee_balance',
      { 'ctc.guarantee_check_id': checkId },
      async () => {
        const start = await startCheck(deps.db, checkId);
        if (start.kind === 'skip' || start.kind === 'window-lost') {
          // Not called, and never will be: do not leave the code waiting out its TTL.
          await discardAccessCode(deps, checkId).catch(() => undefined);
          return { outcome: start.kind === 'skip' ? ('skipped' as const) : ('abandoned' as const) };
        }
        if (start.kind === 'interrupted') {
          await settle(deps.db, checkId, start, {
            outcome: 'hmrc-unavailable',
            spent: true,
            errorCode: 'INTERRUPTED',
            errorMessage:
              'the worker stopped during the HMRC call; whether HMRC answered is unknown',
          });
          return { outcome: 'hmrc-unavailable' as const };
        }

        const log = deps.logger.child({ checkId, grn: start.grn, eori: start.eori });
        const progress = { sent: false };
        let settlement: Settlement;
        try {
          settlement = await callHmrc(deps, checkId, start, progress, log);
        } catch (error) {
          // The database or Redis failed under us: close the check so nobody waits for it, as
          // spent if the request may have gone out.
          await settle(deps.db, checkId, start, {
            outcome: progress.sent ? 'hmrc-unavailable' : 'abandoned',
            spent: progress.sent,
            errorCode: 'INTERNAL_ERROR',
            errorMessage: `the check failed inside the hub: ${(error as Error).message}`,
          }).catch(() => undefined);
          throw error;
        }
        await settle(deps.db, checkId, start, settlement);
        log.info(
          {
            outcome: settlement.outcome,
            hmrcStatus: settlement.hmrcStatus,
            spent: settlement.spent,
          },
          'guarantee balance checked',
        );
        return { outcome: settlement.outcome };
      },
      { parent: trace, kind: SpanKind.CLIENT },
    );
  };
}

async function callHmrc(
  deps: HmrcDeps,
  checkId: string,
  check: { grn: string; eori: string },
  progress: { sent: boolean },
  log: Logger,
): Promise<Settlement> {
  const accessCode = await takeAccessCode(deps, checkId);
  if (!accessCode.ok) {
    return {
      outcome: 'abandoned',
      spent: false,
      errorCode: 'ACCESS_CODE_UNAVAILABLE',
      errorMessage: accessCode.message,
    };
  }
  let token = await deps.hmrc.tokens.getAccessToken(check.eori);
  if (!token.ok) return tokenFailure(token.error);
  // A token not yet shown to be this trader's could read another trader's guarantee: look first.
  const mayAct = await connectionMayAct(deps, check.eori, token);
  if (!mayAct.ok)
    return mayAct.code === 'CONNECTION_CHECK_FAILED'
      ? {
          outcome: 'hmrc-unavailable',
          spent: false,
          errorCode: mayAct.code,
          errorMessage: `could not check the HMRC connection: ${mayAct.error.message}`,
        }
      : {
          outcome: 'not-connected',
          spent: false,
          errorCode: mayAct.code,
          errorMessage: mayAct.message,
        };

  progress.sent = true;
  let result = await deps.hmrc.ctc.checkGuaranteeBalance(
    check.grn,
    accessCode.value,
    token.accessToken,
  );
  if (!result.ok && result.error.kind === 'unauthorized') {
    // 401 comes from authentication, before HMRC's per-GRN lock, so one retry with a fresh token
    // does not spend a second minute.
    log.info('HMRC refused the access token; refreshing it once');
    const refreshed = await deps.hmrc.tokens.forceRefresh(check.eori, token.accessToken);
    if (!refreshed.ok) return tokenFailure(refreshed.error);
    token = refreshed;
    result = await deps.hmrc.ctc.checkGuaranteeBalance(
      check.grn,
      accessCode.value,
      token.accessToken,
    );
  }
  if (result.ok)
    return { outcome: 'balance', spent: true, hmrcStatus: 200, balance: result.balance };

  const settlement = classify(result.error);
  if (
    result.error.kind === 'rate-limited' &&
    result.error.retryAfterMs <= platformRetryAfterMaxMs
  ) {
    log.warn(
      { retryAfterMs: result.error.retryAfterMs },
      'HMRC rate limit hit on a balance check; pausing the hmrc queue',
    );
    await deps.rateLimit(result.error.retryAfterMs);
  }
  return settlement;
}

function classify(error: HmrcError): Settlement {
  const detail = {
    ...('status' in error && error.status !== undefined ? { hmrcStatus: error.status } : {}),
    ...('code' in error && error.code !== undefined ? { errorCode: error.code } : {}),
    errorMessage: error.message,
  };
  switch (error.kind) {
    case 'rate-limited':
      return { outcome: 'throttled', spent: true, retryAfterMs: error.retryAfterMs, ...detail };
    case 'unauthorized':
      return { outcome: 'unauthorized', spent: false, ...detail };
    case 'client-error':
      if (error.status === 404) return { outcome: 'not-found', spent: true, ...detail };
      if (error.code === 'INVALID_GUARANTEE_TYPE')
        return { outcome: 'invalid-guarantee-type', spent: true, ...detail };
      // 403: no HMRC-CTC-ORG enrolment, refused by authorisation before the lock.
      if (error.status === 403) return { outcome: 'unauthorized', spent: false, ...detail };
      return { outcome: 'rejected', spent: true, ...detail };
    case 'timeout':
    case 'network':
    case 'aborted':
      // A request that never left cannot have taken HMRC's lock.
      return {
        outcome: 'hmrc-unavailable',
        spent: error.outcome !== 'not-sent',
        ...detail,
        errorCode: error.kind.toUpperCase(),
      };
    case 'refused':
      // Our client refused to send it (the api validates the same rules first).
      return {
        outcome: 'abandoned',
        spent: false,
        errorCode: 'REFUSED',
        errorMessage: error.message,
      };
    case 'server-error':
    case 'too-large':
    case 'invalid-response':
      return { outcome: 'hmrc-unavailable', spent: true, ...detail };
  }
}

function tokenFailure(error: TokenError): Settlement {
  switch (error.kind) {
    case 'not-connected':
      return {
        outcome: 'not-connected',
        spent: false,
        errorCode: 'EORI_NOT_CONNECTED',
        errorMessage: error.message,
      };
    case 'reconsent-required':
      return {
        outcome: 'not-connected',
        spent: false,
        errorCode: 'RECONSENT_REQUIRED',
        errorMessage: error.message,
      };
    case 'mismatched':
      return {
        outcome: 'not-connected',
        spent: false,
        errorCode: 'CONNECTION_MISMATCHED',
        errorMessage: error.message,
      };
    case 'refresh-failed':
    case 'undecryptable':
      return {
        outcome: 'token-unavailable',
        spent: false,
        errorCode: error.kind.toUpperCase().replace('-', '_'),
        errorMessage: error.message,
      };
  }
}

async function discardAccessCode(deps: HmrcDeps, checkId: string): Promise<void> {
  const redis = await deps.hmrcQueue.client;
  await redis.del(accessCodeKey(deps.config.QUEUE_PREFIX, checkId));
}

/**
 * Takes the encrypted access code the api left for this check and deletes it. GET then DEL need
 * not be atomic: only the one run that moved the check to `calling` gets here.
 */
async function takeAccessCode(
  deps: HmrcDeps,
  checkId: string,
): Promise<{ ok: true; value: string } | { ok: false; message: string }> {
  const redis = await deps.hmrcQueue.client;
  const key = accessCodeKey(deps.config.QUEUE_PREFIX, checkId);
  const sealed = await redis.get(key);
  await redis.del(key);
  if (sealed === null) {
    return { ok: false, message: 'the access code had expired before the job ran' };
  }
  const opened = deps.hmrc.cipher.decrypt(sealed, accessCodeContext(checkId));
  return opened.ok
    ? { ok: true, value: opened.plaintext }
    : { ok: false, message: `the access code could not be decrypted: ${opened.error.message}` };
}

/** queued → calling, only while this check still holds the GRN's window. */
function startCheck(db: Db, checkId: string): Promise<Start> {
  return db.transaction().execute(async (trx): Promise<Start> => {
    const check = await trx
      .selectFrom('guarantee_checks')
      .select(['grn', 'eori', 'status'])
      .where('id', '=', checkId)
      .forUpdate()
      .executeTakeFirst();
    if (check === undefined || check.status === 'completed') return { kind: 'skip' };
    const window = { eori: check.eori, grn: check.grn };
    if (check.status === 'calling') return { kind: 'interrupted', ...window };
    // Restarting the window at the call keeps it honest when the job waited in the queue.
    const held = await trx
      .updateTable('guarantee_windows')
      .set({ claimed_at: sql<Date>`now()` })
      .where('eori', '=', check.eori)
      .where('grn', '=', check.grn)
      .where('check_id', '=', checkId)
      .returning('grn')
      .executeTakeFirst();
    if (held === undefined) {
      await trx
        .updateTable('guarantee_checks')
        .set({
          status: 'completed',
          outcome: 'abandoned',
          error_code: 'WINDOW_LOST',
          error_message:
            'a newer check took the GRN window before this job ran; HMRC was not called',
          completed_at: sql<Date>`now()`,
        })
        .where('id', '=', checkId)
        .execute();
      return { kind: 'window-lost', ...window };
    }
    await trx
      .updateTable('guarantee_checks')
      .set({ status: 'calling', started_at: sql<Date>`now()` })
      .where('id', '=', checkId)
      .execute();
    return { kind: 'started', ...window };
  });
}

/** Records the outcome and moves (spent) or returns (not spent) the window, atomically. */
async function settle(
  db: Db,
  checkId: string,
  window: WindowKey,
  settlement: Settlement,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('guarantee_checks')
      .set({
        status: 'completed',
        outcome: settlement.outcome,
        balance: settlement.balance === undefined ? null : String(settlement.balance.balance),
        currency: settlement.balance?.currency ?? null,
        hmrc_status: settlement.hmrcStatus ?? null,
        error_code: settlement.errorCode ?? null,
        error_message: settlement.errorMessage ?? null,
        completed_at: sql<Date>`now()`,
      })
      .where('id', '=', checkId)
      .execute();
    const ownWindow = trx
      .updateTable('guarantee_windows')
      .where('eori', '=', window.eori)
      .where('grn', '=', window.grn)
      .where('check_id', '=', checkId);
    if (!settlement.spent) {
      await trx
        .deleteFrom('guarantee_windows')
        .where('eori', '=', window.eori)
        .where('grn', '=', window.grn)
        .where('check_id', '=', checkId)
        .execute();
    } else if (settlement.retryAfterMs !== undefined) {
      await ownWindow
        .set({
          claimed_at: sql<Date>`now()`,
          not_before: sql<Date>`now() + make_interval(secs => ${settlement.retryAfterMs / 1000})`,
        })
        .execute();
    } else {
      await ownWindow.set({ claimed_at: sql<Date>`now()` }).execute();
    }
  });
}
