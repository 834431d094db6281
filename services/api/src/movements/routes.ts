import type { MovementType } from '@ctc-hub/db';
import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { route } from '../http/errors.js';
import { hmrcBadRequest } from '../http/hmrc-errors.js';
import { collectionOf, movementIdField, movementsPath } from '../http/hateoas.js';
import { readPage } from '../http/paging.js';
import { queryValue } from '../http/params.js';
import { hmrcAccept, servedMediaTypes } from './hmrc-accept.js';
import { hmrcDateTime, hmrcHref, hmrcPaging, hmrcPathId } from './hmrc-params.js';
import { hubMovementRoutes } from './hub-routes.js';
import { linkedMessageRoutes } from './linked-messages.js';
import { movementMessageRoutes } from './messages.js';
import { hmrcMovementJson } from './present.js';
import { findMovement, listMovements } from './queries.js';
import { movementNotFound } from './visibility.js';

/**
 * HMRC-compatible movement reads (CTC Traders API 2.1 and 3.0) served from our database,
 * behaving as HMRC's MovementsController does (reference §3.2-3.3):
 *   GET /customs/transits/movements/{departures|arrivals}
 *   GET /customs/transits/movements/{departures|arrivals}/{movementId}
 *   … /messages, … /messages/{messageId}, … /messages/{messageId}/body (messages.ts)
 * Checks run in HMRC's order: path and query binding (400, Play's shapes), the Accept header
 * (406, hmrc-accept.ts), page/count > 0 (400), then the lookup (404). Bodies are HMRC's exactly
 * (present.ts); ctc-hub's own fields are in the /v1 views (hub-routes.ts, linked-messages.ts).
 * EORI scoping: a key limited to some EORIs sees a movement only when its enrolment EORI or its
 * declaration EORI is one of them; any other movement is "not found", as HMRC hides other
 * traders' movements.
 */
export function movementRoutes(deps: ApiDeps): Router {
  const router = Router();
  for (const movementType of ['departure', 'arrival'] as const) {
    const base = movementsPath(movementType);
    const idName = movementIdField(movementType);
    router.get(
      base,
      route(async (request, response) => {
        response.json(await movementList(deps, movementType, request));
      }),
    );
    router.get(
      `${base}/:${idName}`,
      route(async (request, response) => {
        const movementId = hmrcPathId(request, idName, 'movementId');
        hmrcAccept(request, servedMediaTypes.jsonOnly);
        const eoris = eoriFilter(principalOf(request));
        const movement = await findMovement(deps.db, movementType, movementId, eoris);
        if (movement === undefined) throw movementNotFound(movementType, movementId);
        response.json(hmrcMovementJson(movement));
      }),
    );
  }
  router.use(movementMessageRoutes(deps));
  router.use(hubMovementRoutes(deps));
  router.use(linkedMessageRoutes(deps));
  return router;
}

/**
 * A text filter as HMRC binds it (any string; we treat an empty one as no filter). One guard
 * HMRC lacks: past 200 characters (an EORI has at most 17, an MRN 18, an LRN 22) it is refused
 * rather than matched against nothing.
 */
function textFilter(request: Request, name: string): string | undefined {
  const value = queryValue(request, name);
  if (value !== undefined && value.length > 200)
    throw hmrcBadRequest(`The ${name} parameter must be at most 200 characters`);
  return value === undefined || value === '' ? undefined : value;
}

async function movementList(deps: ApiDeps, movementType: MovementType, request: Request) {
  const updatedSince = hmrcDateTime(request, 'updatedSince');
  const movementEori = textFilter(request, 'movementEORI');
  const mrn = textFilter(request, 'movementReferenceNumber');
  const paging = hmrcPaging(request);
  const receivedUntil = hmrcDateTime(request, 'receivedUntil');
  // HMRC filters arrivals by LRN too; arrivals have none, so the filter matches nothing.
  const lrn = textFilter(request, 'localReferenceNumber');
  hmrcAccept(request, servedMediaTypes.jsonOnly);
  paging.ensurePositive();

  const page = await readPage(paging, (limit, offset) =>
    listMovements(
      deps.db,
      {
        movementType,
        eoris: eoriFilter(principalOf(request)),
        hexIdsOnly: true,
        ...(updatedSince && { updatedSince: updatedSince.date }),
        // HMRC: updated ≤ receivedUntil (inclusive, to the millisecond we show).
        ...(receivedUntil && { updatedBefore: new Date(receivedUntil.date.getTime() + 1) }),
        ...(movementEori !== undefined && { movementEori: movementEori.toUpperCase() }),
        ...(mrn !== undefined && { mrn }),
        ...(lrn !== undefined && { lrn }),
      },
      limit,
      offset,
    ),
  );

  // HMRC's self link is its reverse route: its parameter order, the values as its binders
  // write them back, encoded as Play encodes.
  const self = hmrcHref(movementsPath(movementType), [
    ['updatedSince', updatedSince?.unbound],
    ['movementEORI', movementEori],
    ['movementReferenceNumber', mrn],
    ['page', paging.pageGiven],
    ['count', paging.countGiven],
    ['receivedUntil', receivedUntil?.unbound],
    ['localReferenceNumber', lrn],
  ]);
  return {
    _links: { self: { href: self } },
    totalCount: page.totalCount,
    [collectionOf(movementType)]: page.items.map(hmrcMovementJson),
  };
}
