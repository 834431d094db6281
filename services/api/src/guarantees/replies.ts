import {
  connectHint,
  notConnectedBody,
  notConnectedStatus,
  type UnusableConnection,
} from '../connections/not-connected.js';
import type { CheckState } from './queries.js';

/**
 * What a client of POST /v1/guarantees/{grn}/balance sees for each outcome of a check. Error
 * bodies keep HMRC's `{code, message}` shape; where HMRC's per-GRN minute is spent, Retry-After
 * says when the next check can reach HMRC.
 */

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

export type BalanceSource = 'hmrc' | 'cache';

/** No usable HMRC authority for the EORI (connections/not-connected.ts: the same answer as declarations). */
export function notConnectedReply(connection: UnusableConnection): Reply {
  return { status: notConnectedStatus, headers: {}, body: notConnectedBody(connection) };
}

export function throttledReply(retryAfterSeconds: number, hmrcSaid = false): Reply {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return {
    status: 429,
    headers: { 'retry-after': String(seconds) },
    body: {
      code: 'MESSAGE_THROTTLED_OUT',
      message: hmrcSaid
        ? `HMRC refused the balance request as throttled. Try again after ${seconds} seconds.`
        : 'HMRC allows one balance request per minute for a guarantee reference number and ' +
          'trader, and this trader (EORI) made one for this GRN in the last minute. ' +
          `Try again after ${seconds} seconds.`,
    },
  };
}

/**
 * The API key already has its share of checks waiting for HMRC. 429 because the limit is the
 * client's own (RFC 6585), with a short Retry-After: a check in flight ends within seconds unless
 * HMRC is slow. Nothing was claimed, so no minute was spent.
 */
export function keyLimitReply(maxInFlight: number): Reply {
  return {
    status: 429,
    headers: { 'retry-after': '2' },
    body: {
      code: 'KEY_LIMIT_REACHED',
      message:
        `This API key already has ${maxInFlight} balance checks waiting for HMRC, the most it ` +
        'may have at once (HMRC allows the hub 3 requests per second for all its users). ' +
        'No request was made to HMRC and no minute was spent: try again after 2 seconds.',
      limit: 'guarantee-balance-checks-in-flight',
      max: maxInFlight,
    },
  };
}

export function timeoutReply(checkId: string, timeoutMs: number): Reply {
  return {
    status: 504,
    headers: {},
    body: {
      code: 'GATEWAY_TIMEOUT',
      message:
        `HMRC has not answered the balance request within ${timeoutMs} ms. The check goes on: ` +
        'ask again with the same EORI and access code to get its result once HMRC answers.',
      checkId,
    },
  };
}

const spentMinute = (check: CheckState) =>
  check.windowSecondsLeft > 0
    ? " HMRC counts the attempt against this GRN's one request per minute: try again after " +
      `${check.windowSecondsLeft} seconds.`
    : ' Try again.';

const hmrcSaid = (check: CheckState) =>
  [check.hmrcStatus === null ? undefined : `HTTP ${check.hmrcStatus}`, check.errorCode]
    .filter((part) => part !== undefined && part !== null)
    .join(' ');

const detailOf = (check: CheckState) => check.errorMessage ?? 'no detail';

const retryAfter = (check: CheckState): Record<string, string> =>
  check.windowSecondsLeft > 0 ? { 'retry-after': String(check.windowSecondsLeft) } : {};

const error = (
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Reply => ({ status, headers, body: { code, message } });

/** The reply for a completed check; `source` says whether this request caused the HMRC call. */
export function replyFor(check: CheckState, source: BalanceSource): Reply {
  switch (check.outcome) {
    case 'balance': {
      const ageSeconds = check.ageSeconds ?? 0;
      return {
        status: 200,
        headers: source === 'cache' ? { age: String(ageSeconds) } : {},
        body: {
          grn: check.grn,
          balance: Number(check.balance),
          currency: check.currency,
          checkedAt: check.completedAt?.toISOString() ?? null,
          ageSeconds,
          source,
        },
      };
    }
    case 'not-found':
      return error(
        404,
        'NOT_FOUND',
        'The guarantee reference number or access code did not match an existing guarantee.',
      );
    case 'invalid-guarantee-type':
      return error(
        400,
        'INVALID_GUARANTEE_TYPE',
        "Guarantee type is not supported: HMRC's Guarantee Balance API only answers for " +
          'guarantee types 0 (guarantee waiver), 1 (comprehensive guarantee) and 9 (individual ' +
          'guarantee with multiple usages).',
      );
    case 'throttled':
      return throttledReply(check.windowSecondsLeft, true);
    case 'unauthorized':
      return error(
        409,
        'EORI_NOT_AUTHORISED',
        `HMRC refused the authority stored for EORI ${check.eori} for the Guarantee Balance API ` +
          `(${hmrcSaid(check)}: ${detailOf(check)}), even after a token refresh. ` +
          'It may predate the guarantee-balance scope or lack the HMRC-CTC-ORG enrolment. ' +
          connectHint(check.eori),
      );
    case 'not-connected':
      // Found by the worker when the token was needed (the authority went after the api's check).
      return notConnectedReply(
        check.errorCode === 'RECONSENT_REQUIRED'
          ? { state: 'refresh-refused', eori: check.eori }
          : { state: 'not-connected', eori: check.eori },
      );
    case 'token-unavailable':
      return error(
        502,
        'BAD_GATEWAY',
        `No HMRC access token could be obtained for EORI ${check.eori}: ${detailOf(check)}. ` +
          "HMRC's Guarantee Balance API was not called; try again shortly.",
      );
    case 'rejected':
      return error(
        502,
        'BAD_GATEWAY',
        `HMRC refused the balance request (${hmrcSaid(check)}: ${detailOf(check)}).` +
          spentMinute(check),
        retryAfter(check),
      );
    case 'hmrc-unavailable':
      return error(
        502,
        'BAD_GATEWAY',
        "HMRC's Guarantee Balance API did not give a usable answer " +
          `(${hmrcSaid(check) || 'no HTTP answer'}: ${detailOf(check)}).` +
          spentMinute(check),
        retryAfter(check),
      );
    case 'abandoned':
    case null:
      return error(
        503,
        'SERVICE_UNAVAILABLE',
        `The balance check could not be run (${detailOf(check)}). HMRC was ` +
          'not called: try again.',
      );
  }
}
