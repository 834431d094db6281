import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { badRequest, route } from '../http/errors.js';
import { parsePaging, readPage } from '../http/paging.js';
import { dateTimeParam, textParam, untilExclusive, uuidQuery, withQuery } from '../http/params.js';
import { checked } from '../http/schemas.js';
import { listLinkedMessages } from './message-queries.js';
import { linkedMessageQuery } from './openapi.js';
import { hubMessageSummaryJson } from './present.js';

/**
 * GET /v1/messages?boxId=&requestId=&messageType=&movementType=&receivedSince=&receivedUntil=
 *                  &page=&count=
 *
 * Messages by the PPNS box they were pushed to and/or the request id (movement path) they belong
 * to, across movements, newest first, paged like HMRC's lists. Items have the shape of HMRC's
 * message list entries, with links to the HMRC-compatible paths. At least one of boxId,
 * requestId, messageType is required: each has an index ending in received_at, so every page is
 * an index scan; an unfiltered "all messages" list would sort the whole table.
 */
export function linkedMessageRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get(
    '/v1/messages',
    route(async (request, response) => {
      response.json(await linkedMessageList(deps, request));
    }),
  );
  return router;
}

async function linkedMessageList(deps: ApiDeps, request: Request) {
  const boxId = uuidQuery(request, 'boxId');
  const requestId = textParam(request, 'requestId');
  const fields = linkedMessageQuery.shape;
  const messageType = checked(fields.messageType, textParam(request, 'messageType'))?.toUpperCase();
  if (boxId === undefined && requestId === undefined && messageType === undefined) {
    throw badRequest('Give at least one of boxId, requestId, messageType');
  }
  const movementType = checked(fields.movementType, textParam(request, 'movementType'));
  const receivedSince = dateTimeParam(request, 'receivedSince');
  const receivedUntil = dateTimeParam(request, 'receivedUntil');
  const paging = parsePaging(request);

  const page = await readPage(paging, (limit, offset) =>
    listLinkedMessages(
      deps.db,
      {
        eoris: eoriFilter(principalOf(request)),
        ...(boxId !== undefined && { boxId }),
        ...(requestId !== undefined && { requestId }),
        ...(messageType !== undefined && { messageType }),
        ...(movementType !== undefined && { movementType }),
        ...(receivedSince && { receivedSince: receivedSince.date }),
        ...(receivedUntil && { receivedBefore: untilExclusive(receivedUntil.date) }),
      },
      limit,
      offset,
    ),
  );

  const self = withQuery('/v1/messages', [
    ['boxId', boxId],
    ['requestId', requestId],
    ['messageType', messageType],
    ['movementType', movementType],
    ['receivedSince', receivedSince?.raw],
    ['receivedUntil', receivedUntil?.raw],
    ['page', paging.pageGiven],
    ['count', paging.countGiven],
  ]);
  return {
    _links: { self: { href: self } },
    totalCount: page.totalCount,
    messages: page.items.map(hubMessageSummaryJson),
  };
}
