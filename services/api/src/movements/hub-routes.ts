import type { MovementType } from '@ctc-hub/db';
import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { notFound, route } from '../http/errors.js';
import { collectionOf, movementIdField } from '../http/hateoas.js';
import { parsePaging, readPage } from '../http/paging.js';
import { dateTimeParam, hmrcIdParam, untilExclusive, withQuery } from '../http/params.js';
import { findMessageHead, listMovementMessages } from './message-queries.js';
import { sendXmlBody } from './messages.js';
import { hubMessageSummaryJson, hubMovementJson } from './present.js';
import { findMovement, type MovementRow } from './queries.js';

/**
 * ctc-hub's own views of a movement, for what HMRC's shapes have no room for:
 *   GET /v1/{departures|arrivals}/{movementId}                             + boxId, requestId, status
 *   GET /v1/{departures|arrivals}/{movementId}/messages                    + boxId, requestId
 *   GET /v1/{departures|arrivals}/{movementId}/messages/{messageId}/body   the stored XML
 * They answer whatever the Accept header, keep ctc-hub's error shapes, and also serve movements
 * recorded from the retired API 1.0 (small decimal ids), which HMRC's 2.1/3.0 paths refuse.
 */
export function hubMovementRoutes(deps: ApiDeps): Router {
  const router = Router();
  for (const movementType of ['departure', 'arrival'] as const) {
    const idName = movementIdField(movementType);
    const base = `/v1/${collectionOf(movementType)}/:${idName}`;
    router.get(
      base,
      route(async (request, response) => {
        response.json(hubMovementJson(await hubMovement(deps, movementType, request)));
      }),
    );
    router.get(
      `${base}/messages`,
      route(async (request, response) => {
        const receivedSince = dateTimeParam(request, 'receivedSince');
        const receivedUntil = dateTimeParam(request, 'receivedUntil');
        const paging = parsePaging(request);
        const movement = await hubMovement(deps, movementType, request);
        const page = await readPage(paging, (limit, offset) =>
          listMovementMessages(
            deps.db,
            movement,
            {
              ...(receivedSince && { receivedSince: receivedSince.date }),
              ...(receivedUntil && { receivedBefore: untilExclusive(receivedUntil.date) }),
            },
            limit,
            offset,
          ),
        );
        const path = `/v1/${collectionOf(movementType)}/${movement.movement_id}`;
        response.json({
          _links: {
            self: {
              href: withQuery(`${path}/messages`, [
                ['receivedSince', receivedSince?.raw],
                ['receivedUntil', receivedUntil?.raw],
                ['page', paging.pageGiven],
                ['count', paging.countGiven],
              ]),
            },
            [movementType]: { href: path },
          },
          totalCount: page.totalCount,
          messages: page.items.map(hubMessageSummaryJson),
        });
      }),
    );
    router.get(
      `${base}/messages/:messageId/body`,
      route(async (request, response) => {
        const messageId = hmrcIdParam(request, 'messageId');
        const movement = await hubMovement(deps, movementType, request);
        const message = await findMessageHead(deps.db, movement, messageId);
        if (message === undefined) {
          throw notFound(
            `Message with ID ${messageId} for movement ${movement.movement_id} was not found`,
          );
        }
        if (Number(message.body_bytes) === 0)
          throw notFound(`Body for message id ${messageId} does not exist`);
        await sendXmlBody(deps, request, response, movement, message);
      }),
    );
  }
  return router;
}

async function hubMovement(
  deps: ApiDeps,
  movementType: MovementType,
  request: Request,
): Promise<MovementRow> {
  const movementId = hmrcIdParam(request, movementIdField(movementType));
  const movement = await findMovement(
    deps.db,
    movementType,
    movementId,
    eoriFilter(principalOf(request)),
  );
  if (movement === undefined) {
    throw notFound(
      `${movementType === 'departure' ? 'Departure' : 'Arrival'} movement with ID ${movementId} was not found`,
    );
  }
  return movement;
}
