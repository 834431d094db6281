import {
  listConnections,
  resolveMismatchedConnection,
  vouchForConnection,
  type ConnectionRow,
} from '@ctc-hub/db';
import { reconsentMonths } from '@ctc-hub/hmrc-client';
import express, { Router } from 'express';
import { writeAudit } from '../audit/queries.js';
import type { ApiDeps } from '../deps.js';
import { canSeeEori, eoriFilter, isOperator, operatorOf, principalOf } from '../http/auth.js';
import { ApiError, notFound, route } from '../http/errors.js';
import { iso, isoOrNull } from '../http/hateoas.js';
import { checked } from '../http/schemas.js';
import { eoriPath, resolveBody } from './openapi.js';

/**
 * Trader connections to HMRC and what HMRC's answers have shown about them:
 *   GET  /v1/connections                 every connection the key may see
 *   GET  /v1/connections/{eori}          one
 *   POST /v1/connections/{eori}/resolve  {"quarantined": "release" | "discard"} (operators only)
 *   POST /v1/connections/{eori}/confirm  an operator vouches for an unverified connection
 *
 * `verification` is what HMRC's answers showed: `verified` (its movements name the EORI),
 * `unverified` (nothing yet: HMRC lists no movement for it) or `mismatched`. An unverified
 * connection acts (declarations, balance checks) only when an operator stands behind it: its flow
 * was started with an operator key, or an operator confirmed it; one a trader's own key started
 * only reads until HMRC's answers confirm it.
 *
 * A connection is `mismatched` when the movements HMRC lists for its token, or HMRC's
 * notifications, name another enrolment EORI than the one it is filed under: someone signed in at
 * HMRC as another trader. Its token is no longer used and what came through it is quarantined
 * (hidden from scoped keys). An operator resolves it: the token is deleted, and the quarantined
 * movements are released to the trader HMRC named or discarded; the trader then connects again.
 */

const jsonBody = express.json({ limit: '4kb', type: () => true });

function stateOf(row: ConnectionRow, now: number): { state: string; fix: string | null } {
  const reconsentBy = addMonths(row.consentedAt, reconsentMonths);
  if (row.verification === 'mismatched')
    return {
      state: 'mismatched',
      fix:
        `HMRC shows this token belongs to ${row.observedEori ?? 'another EORI'}. Resolve it ` +
        `(POST /v1/connections/${row.eori}/resolve with {"quarantined":"release"} or ` +
        `{"quarantined":"discard"}), then have the trader connect again at ` +
        `/oauth/hmrc/start?eori=${row.eori}, signing in at HMRC as ${row.eori}.`,
    };
  if (
    reconsentBy.getTime() <= now ||
    (!row.hasRefreshToken && row.accessExpiresAt.getTime() <= now)
  )
    return {
      state: 'reconsent-required',
      fix: `HMRC no longer accepts this authority: connect again at /oauth/hmrc/start?eori=${row.eori}.`,
    };
  if (row.verification === 'unverified' && !row.vouched)
    return {
      state: 'connected',
      fix:
        `Nothing HMRC has answered yet shows this connection is ${row.eori}'s (it lists no movement ` +
        `for it), and it was made with a key limited to ${row.eori}: it reads, but declarations and ` +
        `balance checks wait until an operator confirms it (POST /v1/connections/${row.eori}/confirm).`,
    };
  return { state: 'connected', fix: null };
}

function addMonths(date: Date, months: number): Date {
  const result = new Date(date);
  result.setUTCMonth(result.getUTCMonth() + months);
  return result;
}

/**
 * Operators see what HMRC's answers showed; a trader's own key learns that its connection is
 * stopped and why in general terms, but not the other trader's EORI or movements.
 */
function connectionJson(row: ConnectionRow, now: number, operator: boolean) {
  const { state, fix } = stateOf(row, now);
  const mismatched = row.verification === 'mismatched';
  return {
    eori: row.eori,
    state,
    verification: row.verification,
    vouched: row.vouched,
    mayAct: !mismatched && (row.verification === 'verified' || row.vouched),
    verifiedAt: isoOrNull(row.verifiedAt),
    connectedAt: iso(row.consentedAt),
    connectedBy: row.connectedBy,
    consentExpiresAt: iso(addMonths(row.consentedAt, reconsentMonths)),
    mismatch: !mismatched
      ? null
      : operator
        ? {
            hmrcEori: row.observedEori,
            detectedAt: isoOrNull(row.mismatchAt),
            detail: row.mismatchDetail,
          }
        : { detectedAt: isoOrNull(row.mismatchAt) },
    quarantinedMovements: operator ? row.quarantinedMovements : undefined,
    fix: mismatched && !operator ? traderFix(row.eori) : fix,
    _links: { self: { href: `/v1/connections/${row.eori}` } },
  };
}

const traderFix = (eori: string) =>
  `The HMRC sign-in used for this connection was not ${eori}'s, so it is not used. An operator ` +
  `must resolve it; then connect again, signing in at HMRC as ${eori}.`;

function eoriParam(raw: unknown): string {
  return checked(eoriPath.shape.eori, typeof raw === 'string' ? raw : '');
}

/** Why only an operator may do it, and what to use instead. */
const operatorsOnly = (why: string) => `${why}: use an operator key (not limited to some EORIs)`;

export function connectionRoutes(deps: ApiDeps): Router {
  const router = Router();

  router.get(
    '/v1/connections',
    route(async (request, response) => {
      const eoris = eoriFilter(principalOf(request));
      const rows = await listConnections(deps.db, eoris === undefined ? {} : { eoris });
      const now = Date.now();
      response.json({
        connections: rows.map((row) => connectionJson(row, now, eoris === undefined)),
      });
    }),
  );

  router.get(
    '/v1/connections/:eori',
    route(async (request, response) => {
      const eori = eoriParam(request.params.eori);
      const principal = principalOf(request);
      if (!canSeeEori(principal, eori)) throw notFound(`No connection for EORI ${eori}`);
      const [row] = await listConnections(deps.db, { eori });
      if (row === undefined)
        throw new ApiError(
          404,
          'NOT_FOUND',
          `EORI ${eori} is not connected to HMRC: connect it at /oauth/hmrc/start?eori=${eori}`,
        );
      response.json(connectionJson(row, Date.now(), isOperator(principal)));
    }),
  );

  router.post(
    '/v1/connections/:eori/resolve',
    jsonBody,
    route(async (request, response) => {
      const principal = operatorOf(
        request,
        operatorsOnly('Resolving a connection decides whose data is whose'),
      );
      const eori = eoriParam(request.params.eori);
      const body = request.body as { quarantined?: unknown } | undefined;
      const resolution = checked(resolveBody.shape.quarantined, body?.quarantined);
      const result = await resolveMismatchedConnection(deps.db, eori, resolution);
      await writeAudit(deps.db, {
        actor: principal.keyId,
        action: 'connection.resolve',
        target: { eori },
        outcome: result === undefined ? 'refused' : 'ok',
        details: { quarantined: resolution, ...(result ?? {}) },
      });
      if (result === undefined)
        throw new ApiError(
          409,
          'NOT_MISMATCHED',
          `EORI ${eori} has no mismatched connection to resolve`,
        );
      response.json({
        eori,
        disconnected: result.disconnected,
        released: result.released,
        discarded: result.discarded,
        message: `The connection of ${eori} was removed; the trader connects again at /oauth/hmrc/start?eori=${eori}, signing in at HMRC as ${eori}.`,
      });
    }),
  );
  router.post(
    '/v1/connections/:eori/confirm',
    route(async (request, response) => {
      const principal = operatorOf(
        request,
        operatorsOnly('Only an operator can vouch for a connection'),
      );
      const eori = eoriParam(request.params.eori);
      const vouched = await vouchForConnection(deps.db, eori);
      await writeAudit(deps.db, {
        actor: principal.keyId,
        action: 'connection.confirm',
        target: { eori },
        outcome: vouched ? 'ok' : 'refused',
      });
      if (!vouched)
        throw new ApiError(
          409,
          'NOT_UNVERIFIED',
          `EORI ${eori} has no unverified connection to confirm (GET /v1/connections/${eori})`,
        );
      const [row] = await listConnections(deps.db, { eori });
      response.json(connectionJson(row!, Date.now(), true));
    }),
  );
  return router;
}
