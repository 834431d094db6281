import type { MovementType } from '@ctc-hub/db';
import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { route } from '../http/errors.js';
import { collectionOf, movementIdField, movementsPath } from '../http/hateoas.js';
import { parsePaging, readPage } from '../http/paging.js';
import { dateTimeParam, textParam, untilExclusive, withQuery } from '../http/params.js';
import { linkedMessageRoutes } from './linked-messages.js';
import { movementMessageRoutes } from './messages.js';
import { movementJson } from './present.js';
import { listMovements } from './queries.js';
import { visibleMovement } from './visibility.js';

/**
 * HMRC-compatible movement reads (CTC Traders API v2.1, reference §3.2-3.3) served from our
 * database:
 *   GET /customs/transits/movements/{departures|arrivals}
 *   GET /customs/transits/movements/{departures|arrivals}/{movementId}
 *   … /messages, … /messages/{messageId}, … /messages/{messageId}/body (messages.ts)
 * and GET /v1/messages (linked-messages.ts).
 *
 * Accept headers: HMRC insists on `application/vnd.hmrc.2.1+json` here; we answer JSON whatever
 * the Accept header says, since these endpoints have one representation. EORI scoping: a key
 * limited to some EORIs sees a movement only when its enrolment EORI or its declaration EORI is
 * one of them; any other movement is "not found", as HMRC hides other traders' movements.
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
        const movement = await visibleMovement(deps, movementType, request);
        response.json(movementJson(movement));
      }),
    );
  }
  router.use(movementMessageRoutes(deps));
  router.use(linkedMessageRoutes(deps));
  return router;
}

async function movementList(deps: ApiDeps, movementType: MovementType, request: Request) {
  const updatedSince = dateTimeParam(request, 'updatedSince');
  const receivedUntil = dateTimeParam(request, 'receivedUntil');
  const paging = parsePaging(request);
  const movementEori = textParam(request, 'movementEORI')?.toUpperCase();
  const mrn = textParam(request, 'movementReferenceNumber');
  // HMRC's arrivals endpoint has no LRN filter (arrivals carry no LRN); the parameter is ignored.
  const lrn = movementType === 'departure' ? textParam(request, 'localReferenceNumber') : undefined;

  const page = await readPage(paging, (limit, offset) =>
    listMovements(
      deps.db,
      {
        movementType,
        eoris: eoriFilter(principalOf(request)),
        ...(updatedSince && { updatedSince: updatedSince.date }),
        // HMRC: "filter for departure declarations updated before a specific date and time".
        ...(receivedUntil && { updatedBefore: untilExclusive(receivedUntil.date) }),
        ...(movementEori !== undefined && { movementEori }),
        ...(mrn !== undefined && { mrn }),
        ...(lrn !== undefined && { lrn }),
      },
      limit,
      offset,
    ),
  );

  // HMRC's self link repeats the query in its own parameter order (getMovementsUri).
  const self = withQuery(movementsPath(movementType), [
    ['updatedSince', updatedSince?.raw],
    ['movementEORI', movementEori],
    ['movementReferenceNumber', mrn],
    ['page', paging.pageGiven],
    ['count', paging.countGiven],
    ['receivedUntil', receivedUntil?.raw],
    ['localReferenceNumber', lrn],
  ]);
  return {
    _links: { self: { href: self } },
    totalCount: page.totalCount,
    [collectionOf(movementType)]: page.items.map(movementJson),
  };
}
