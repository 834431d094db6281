import { eoriConnection, type EoriConnection } from '@ctc-hub/hmrc-client';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../http/errors.js';

/**
 * The answer when the hub holds no usable HMRC authority for the EORI a request acts for
 * (packages/hmrc-client connection.ts decides it). Shared by declarations and Guarantee Balance
 * checks, so a trader meets one status, one code and one link.
 *
 * 409, not 403: the request is allowed (403 FORBIDDEN stays "this API key may not act for this
 * EORI") and well formed (not 400/422); what stands in the way is the hub's state for the EORI,
 * which a person changes by connecting it. HMRC's own 403 for a token without the EORI
 * enrolment is about its caller's credentials, which are ours here, not the client's.
 */

export type UnusableConnection = Exclude<EoriConnection, { state: 'connected' }>;

/** GET /oauth/hmrc/start takes an API key allowed for the EORI and redirects to HMRC. */
export const connectPath = (eori: string): string =>
  `/oauth/hmrc/start?eori=${encodeURIComponent(eori)}`;

export const connectHint = (eori: string): string =>
  `Connect it at GET ${connectPath(eori)} (with an API key allowed for that EORI) and sign in ` +
  'at HMRC as that trader.';

export function reasonText(connection: UnusableConnection): string {
  const { eori } = connection;
  switch (connection.state) {
    case 'not-connected':
      return `EORI ${eori} is not connected to HMRC: no authority is stored for it.`;
    case 'consent-expired':
      return (
        `The HMRC authority for EORI ${eori} has lapsed: it was granted on ` +
        `${connection.consentedAt.toISOString().slice(0, 10)} and HMRC stops refreshing an ` +
        'authority after 18 months, so it must be granted again.'
      );
    case 'refresh-refused':
      return (
        `The HMRC authority for EORI ${eori} has lapsed: HMRC refused to refresh it, so it ` +
        'must be granted again.'
      );
    case 'mismatched':
      return (
        `The HMRC sign-in used to connect EORI ${eori} was another trader's (HMRC's answers show ` +
        'it), so it is not used. An operator must resolve the connection ' +
        `(POST /v1/connections/${eori}/resolve) before it is connected again.`
      );
    case 'unverified':
      return (
        `Nothing HMRC has answered yet shows that the connection of EORI ${eori} is ${eori}'s ` +
        `(HMRC lists no movement for it), and it was made with a key limited to ${eori}. It ` +
        'reads, but declarations and balance checks wait until an operator confirms it ' +
        `(POST /v1/connections/${eori}/confirm) or connects ${eori} with an operator key.`
      );
  }
}

/** The error code a client branches on: only not-connected and lapsed authority say "connect". */
const codeOf = (connection: UnusableConnection): string =>
  connection.state === 'mismatched'
    ? 'CONNECTION_MISMATCHED'
    : connection.state === 'unverified'
      ? 'CONNECTION_UNVERIFIED'
      : 'EORI_NOT_CONNECTED';

/** `{code, message}` as HMRC shapes errors, plus the EORI, the reason and the link to fix it. */
export function notConnectedBody(connection: UnusableConnection): Record<string, unknown> {
  const needsOperator = connection.state === 'mismatched' || connection.state === 'unverified';
  return {
    code: codeOf(connection),
    message: needsOperator
      ? reasonText(connection)
      : `${reasonText(connection)} ${connectHint(connection.eori)}`,
    eori: connection.eori,
    reason: connection.state,
    _links: { connect: { href: connectPath(connection.eori) } },
  };
}

export const notConnectedStatus = 409;

/**
 * Why the hub cannot act at HMRC for `eori` now, or undefined when it can. Read-only and
 * without calling HMRC: asked before anything is claimed or queued.
 */
export async function unusableConnection(
  deps: Pick<ApiDeps, 'db'>,
  eori: string,
): Promise<UnusableConnection | undefined> {
  const connection = await eoriConnection(deps.db, eori);
  return connection.state === 'connected' ? undefined : connection;
}

export function notConnectedError(connection: UnusableConnection): ApiError {
  const { code, message, ...extra } = notConnectedBody(connection);
  return new ApiError(notConnectedStatus, code as string, message as string, extra);
}
