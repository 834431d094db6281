import { listConnections, type ConnectionRow, type Db } from '@ctc-hub/db';
import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { canSeeEori, eoriFilter, principalOf } from '../http/auth.js';
import { badRequest, notFound, route } from '../http/errors.js';
import { parsePaging, readPage } from '../http/paging.js';
import { eoriPattern, textParam, withQuery } from '../http/params.js';
import { traderActivity } from './queries.js';
import { tokenStates, traderJson, type TokenState, type TraderJson } from './present.js';

/**
 * Traders: each EORI the hub acts for, with its HMRC connection and what needs doing.
 *   GET /v1/traders?tokenState=&needsAction=&page=&count=   connected EORIs (and, for a key
 *       limited to some EORIs, each of its own even when not connected), needing action first
 *   GET /v1/traders/{eori}                                   one
 * A key limited to some EORIs sees only those. /v1/connections stays: it is where an operator
 * resolves (and confirms) a connection; this is the wider view that links to it.
 */

export interface TraderFilter {
  /** A scoped key's EORIs; undefined for an operator. */
  eoris: readonly string[] | undefined;
  tokenState?: TokenState;
  needsAction?: boolean;
  /** false: leave the counts at 0 (see traderActivity). */
  counts?: boolean;
}

/** The traders a key may see, worst first (action, then warnings, then by EORI). */
export async function listTraders(db: Db, filter: TraderFilter, now = new Date()) {
  const rows = await listConnections(db, filter.eoris === undefined ? {} : { eoris: filter.eoris });
  const byEori = new Map<string, ConnectionRow>(rows.map((row) => [row.eori, row]));
  const eoris = [...new Set([...byEori.keys(), ...(filter.eoris ?? [])])].sort();
  const activity = await traderActivity(db, eoris, { counts: filter.counts ?? true });
  const rank = (trader: TraderJson) =>
    trader.attention.some((entry) => entry.severity === 'action')
      ? 0
      : trader.attention.length > 0
        ? 1
        : 2;
  return eoris
    .map((eori) => traderJson(eori, byEori.get(eori), activity.get(eori)!, now))
    .filter(
      (trader) =>
        (filter.tokenState === undefined || trader.tokenState === filter.tokenState) &&
        (filter.needsAction === undefined || trader.needsAction === filter.needsAction),
    )
    .sort((a, b) => rank(a) - rank(b) || (a.eori < b.eori ? -1 : 1));
}

function tokenStateParam(request: Request): TokenState | undefined {
  const value = textParam(request, 'tokenState');
  if (value === undefined) return undefined;
  const state = tokenStates.find((candidate) => candidate === value);
  if (state === undefined)
    throw badRequest(`The tokenState parameter must be one of ${tokenStates.join(', ')}`);
  return state;
}

function needsActionParam(request: Request): boolean | undefined {
  const value = textParam(request, 'needsAction');
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false')
    throw badRequest('The needsAction parameter must be true or false');
  return value === 'true';
}

function eoriParam(raw: unknown): string {
  const eori = typeof raw === 'string' ? raw.toUpperCase() : '';
  if (!eoriPattern.test(eori)) throw badRequest('eori must be an EORI such as GB123456789000');
  return eori;
}

export function traderRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get(
    '/v1/traders',
    route(async (request, response) => {
      const tokenState = tokenStateParam(request);
      const needsAction = needsActionParam(request);
      const paging = parsePaging(request);
      const all = await listTraders(deps.db, {
        eoris: eoriFilter(principalOf(request)),
        ...(tokenState !== undefined && { tokenState }),
        ...(needsAction !== undefined && { needsAction }),
      });
      const page = await readPage(paging, async (limit, offset) => ({
        totalCount: all.length,
        items: all.slice(offset, offset + limit),
      }));
      response.setHeader('Cache-Control', 'no-store');
      response.json({
        _links: {
          self: {
            href: withQuery('/v1/traders', [
              ['tokenState', tokenState],
              ['needsAction', needsAction === undefined ? undefined : String(needsAction)],
              ['page', paging.pageGiven],
              ['count', paging.countGiven],
            ]),
          },
        },
        totalCount: page.totalCount,
        needingAction: all.filter((trader) => trader.needsAction).length,
        traders: page.items,
      });
    }),
  );
  router.get(
    '/v1/traders/:eori',
    route(async (request, response) => {
      const eori = eoriParam(request.params.eori);
      const principal = principalOf(request);
      if (!canSeeEori(principal, eori)) throw notFound(`No trader ${eori}`);
      const [row] = await listConnections(deps.db, { eori });
      const activity = (await traderActivity(deps.db, [eori])).get(eori)!;
      const known =
        row !== undefined ||
        activity.movements > 0 ||
        Object.keys(activity.submissions).length > 0 ||
        activity.deadLetters.total > 0;
      // An operator asking for an EORI nobody connected and nothing names: 404, with the link.
      if (!known && eoriFilter(principal) === undefined)
        throw notFound(
          `No trader ${eori}: it is not connected to HMRC and nothing here names it. Connect it at /oauth/hmrc/start?eori=${eori}`,
        );
      response.setHeader('Cache-Control', 'no-store');
      response.json(traderJson(eori, row, activity, new Date()));
    }),
  );
  return router;
}
