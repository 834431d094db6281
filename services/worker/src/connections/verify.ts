import { markConnectionVerified } from '@ctc-hub/db';
import type { HmrcError } from '@ctc-hub/hmrc-client';
import { foreignMovement, reportMismatch, withMismatchCounter } from './mismatch.js';
import { verifyConnectionData } from '@ctc-hub/queue';
import { UnrecoverableError, type Job } from 'bullmq';
import { failWith, HmrcSession, traderTokens } from '../runtime/hmrc-session.js';
import { RetryLater, type HmrcDeps } from '../runtime/deps.js';

/**
 * Whose token is this? HMRC never says in its token answers, but every movement it lists for a
 * token carries the token's enrolment EORI (`enrollmentEORINumber`: HMRC shows a trader only the
 * movements of their own enrolment). A connection is therefore checked against the first
 * movement HMRC lists for it — right after the connect flow, before each use while unverified,
 * and on every page the reconciliation sweep reads — and one whose movements name another EORI
 * is marked mismatched and never used again (packages/db connections.ts quarantines what came
 * through it).
 */

export type ConnectionCheck =
  | { kind: 'verified' }
  /** HMRC lists no movement for the token: nothing yet says whose it is. */
  | { kind: 'unverifiable' }
  | { kind: 'mismatched'; observedEori: string; message: string }
  | { kind: 'failed'; error: HmrcError };

/** Why a connection nobody vouches for, and HMRC cannot confirm yet, may not act. */
export function unverifiedMessage(eori: string): string {
  return (
    `HMRC has not yet shown that the connection of ${eori} is ${eori}'s: it lists no movement for ` +
    `it, and the connection was made with a key limited to ${eori} rather than by an operator. ` +
    `Nothing is sent with it until an operator confirms it (POST /v1/connections/${eori}/confirm) ` +
    `or connects ${eori} with an operator key.`
  );
}

/**
 * Before a connection acts (sends a declaration, reads a guarantee): `ok`, or why not. An
 * unverified connection is checked against HMRC first; one HMRC cannot confirm may act only if
 * an operator vouches for it.
 */
export async function connectionMayAct(
  deps: HmrcDeps,
  eori: string,
  token: { connectionId: string | null; verification: 'unverified' | 'verified'; vouched: boolean },
): Promise<
  | { ok: true }
  | { ok: false; code: 'CONNECTION_MISMATCHED' | 'CONNECTION_UNVERIFIED'; message: string }
  | { ok: false; code: 'CONNECTION_CHECK_FAILED'; error: HmrcError }
> {
  if (token.verification === 'verified') return { ok: true };
  const checked = await checkConnection(deps, eori, token.connectionId);
  switch (checked.kind) {
    case 'verified':
      return { ok: true };
    case 'mismatched':
      return { ok: false, code: 'CONNECTION_MISMATCHED', message: checked.message };
    case 'unverifiable':
      return token.vouched
        ? { ok: true }
        : { ok: false, code: 'CONNECTION_UNVERIFIED', message: unverifiedMessage(eori) };
    case 'failed':
      return { ok: false, code: 'CONNECTION_CHECK_FAILED', error: checked.error };
  }
}

/**
 * Checks an unverified connection against HMRC: one movement list per movement type (count 1),
 * through the shared budget. `failed` leaves it unverified for the caller to retry.
 */
export async function checkConnection(
  deps: HmrcDeps,
  eori: string,
  connectionId: string | null,
): Promise<ConnectionCheck> {
  // API 1.0 lists name no enrolment EORI: nothing to check against.
  if (deps.config.CTC_API_VERSION === '1.0') return { kind: 'unverifiable' };
  const session = new HmrcSession(deps, traderTokens(deps, eori));
  let sawOwn = false;
  for (const type of ['departure', 'arrival'] as const) {
    const listed = await session.call((token) =>
      deps.hmrc.ctc.listMovements({ type, token, page: 1, count: 1 }),
    );
    if (!listed.ok) {
      // 404: HMRC's "page does not exist" for an empty list.
      if (listed.error.kind === 'client-error' && listed.error.status === 404) continue;
      return { kind: 'failed', error: listed.error };
    }
    const foreign = foreignMovement(eori, listed.list.movements);
    if (foreign !== undefined) {
      const observedEori = foreign.enrollmentEORINumber!.toUpperCase();
      const message = await reportMismatch(withMismatchCounter(deps), {
        connectionId,
        eori,
        observedEori,
        detail: `HMRC listed ${type} ${foreign.id} with enrollmentEORINumber ${observedEori}`,
      });
      return { kind: 'mismatched', observedEori, message };
    }
    if (listed.list.movements.length > 0) sawOwn = true;
  }
  if (!sawOwn) return { kind: 'unverifiable' };
  if (connectionId !== null && (await markConnectionVerified(deps.db, connectionId)))
    deps.logger.info({ eori }, 'HMRC connection verified: its movements name its own EORI');
  return { kind: 'verified' };
}

/**
 * `verify-connection`: queued by the api when a connect flow completes, so a wrong sign-in is
 * found before anything uses the token. A token problem that only a person can fix ends the job;
 * HMRC failures are retried (attempts in the job catalogue).
 */
export function createVerifyConnectionProcessor(deps: HmrcDeps) {
  return async (job: Job): Promise<{ result: string }> => {
    const parsed = verifyConnectionData.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(
        `job data does not match the catalogue: ${parsed.error.message}`,
      );
    const { eori, connectionId } = parsed.data;
    const token = await deps.hmrc.tokens.getAccessToken(eori);
    if (!token.ok) {
      if (token.error.kind === 'refresh-failed' && token.error.retryable)
        throw new RetryLater('NO_TOKEN', token.error.message);
      return { result: token.error.kind };
    }
    // A newer consent replaced the connection, or something already settled it.
    if (token.connectionId !== connectionId) return { result: 'replaced' };
    if (token.verification !== 'unverified') return { result: token.verification };
    const checked = await checkConnection(deps, eori, connectionId);
    if (checked.kind === 'failed') failWith(checked.error, `checking the connection of ${eori}`);
    return { result: checked.kind };
  };
}
