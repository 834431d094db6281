import { Router, type Request, type Response } from 'express';
import { ctcAccept } from '../core/accept.js';
import { BinderError, HmrcError, notFound, route, param } from '../core/errors.js';
import {
  hexIdPattern,
  movementTypeOf,
  type Collection,
  type Movement,
  type MovementStore,
  type MovementType,
} from '../core/store.js';
import { authOf, type Authenticators } from '../oauth/auth.js';
import { xmlToJson } from '../xml/json.js';
import { messageList, messageSummary, movementList, movementSummary } from './hateoas.js';
import { dateTimeParam, pageOf, paging, selfHref, stringParam } from './paging.js';

/**
 * Read endpoints of the CTC Traders API v2.1/3.0 (reference §3.2-3.3). Every movement is
 * scoped to the token's EORI: someone else's movement is indistinguishable from a missing one.
 */

/** Messages larger than this cannot be returned as JSON (HMRC: 406). */
const jsonBodyLimit = 5_000_000;

const label = (type: MovementType) => (type === 'departure' ? 'Departure' : 'Arrival');

/** HMRC binds ids with `^[0-9a-f]{16}$`; anything else is 400 before the controller runs. */
export function checkId(name: string, value: string | undefined): string {
  if (value === undefined || !hexIdPattern.test(value)) {
    // HMRC's routes name the movement parameter movementId for both movement types.
    const routeName = name === 'messageId' ? 'messageId' : 'movementId';
    throw new BinderError(
      `${routeName}: Value ${value ?? ''} is not a 16 character hexadecimal string`,
      'path',
    );
  }
  return value;
}

export function findMovement(
  store: MovementStore,
  type: MovementType,
  id: string,
  eori: string,
): Movement {
  const movement = store.visible(type, id, eori);
  if (movement === undefined) throw notFound(`${label(type)} movement with ID ${id} was not found`);
  return movement;
}

export function movementReadRoutes(store: MovementStore, auth: Authenticators): Router {
  const router = Router();
  for (const collection of ['departures', 'arrivals'] as Collection[]) {
    const type = movementTypeOf(collection);
    const base = `/customs/transits/movements/${collection}`;
    const idName = type === 'departure' ? 'departureId' : 'arrivalId';

    router.get(
      base,
      auth.ctc,
      route((request: Request, response: Response) => {
        // Play binds the query before HMRC's controller checks the Accept header.
        const query = request.query as Record<string, unknown>;
        const updatedSince = dateTimeParam(query, 'updatedSince');
        const movementEori = stringParam(query, 'movementEORI');
        const mrn = stringParam(query, 'movementReferenceNumber');
        const paged = paging(query);
        const receivedUntil = dateTimeParam(query, 'receivedUntil');
        // HMRC filters arrivals by LRN too; arrivals have none, so nothing matches.
        const lrn = stringParam(query, 'localReferenceNumber');
        ctcAccept(request, ['json']);
        paged.ensurePositive();
        const matching = store
          .list(type, authOf(response).eori!)
          .filter(
            (movement) =>
              (updatedSince === undefined || movement.updated >= updatedSince.time) &&
              (receivedUntil === undefined || movement.updated <= receivedUntil.time) &&
              (movementEori === undefined || movement.movementEori === movementEori) &&
              (mrn === undefined || movement.mrn === mrn) &&
              (lrn === undefined || (movement.type === 'departure' && movement.lrn === lrn)),
          )
          // Most recently updated first, as transit-movements sorts.
          .sort((a, b) => b.updated - a.updated || b.created - a.created);
        // HMRC's self link keeps the query (its reverse route, in its parameter order).
        const self = selfHref(base, [
          ['updatedSince', updatedSince?.unbound],
          ['movementEORI', movementEori],
          ['movementReferenceNumber', mrn],
          ['page', paged.pageGiven],
          ['count', paged.countGiven],
          ['receivedUntil', receivedUntil?.unbound],
          ['localReferenceNumber', lrn],
        ]);
        response.json(
          movementList(type, matching.length, pageOf(matching, paged.page, paged.count), self),
        );
      }),
    );

    router.get(
      `${base}/:movementId`,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkId(idName, param(request, 'movementId'));
        ctcAccept(request, ['json']);
        const movement = findMovement(
          store,
          type,
          param(request, 'movementId'),
          authOf(response).eori!,
        );
        response.json(movementSummary(movement));
      }),
    );

    router.get(
      `${base}/:movementId/messages`,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkId(idName, param(request, 'movementId'));
        const query = request.query as Record<string, unknown>;
        const receivedSince = dateTimeParam(query, 'receivedSince');
        const paged = paging(query);
        const receivedUntil = dateTimeParam(query, 'receivedUntil');
        ctcAccept(request, ['json']);
        paged.ensurePositive();
        const movement = findMovement(
          store,
          type,
          param(request, 'movementId'),
          authOf(response).eori!,
        );
        const matching = movement.messages
          .filter(
            (message) =>
              (receivedSince === undefined || message.received >= receivedSince.time) &&
              (receivedUntil === undefined || message.received <= receivedUntil.time),
          )
          .sort((a, b) => b.received - a.received);
        const self = selfHref(`${base}/${movement.id}/messages`, [
          ['receivedSince', receivedSince?.unbound],
          ['page', paged.pageGiven],
          ['count', paged.countGiven],
          ['receivedUntil', receivedUntil?.unbound],
        ]);
        response.json(
          messageList(movement, matching.length, pageOf(matching, paged.page, paged.count), self),
        );
      }),
    );

    router.get(
      `${base}/:movementId/messages/:messageId`,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkId(idName, param(request, 'movementId'));
        checkId('messageId', param(request, 'messageId'));
        const accept = ctcAccept(request, ['json', 'json+xml', 'json-xml']);
        const movement = findMovement(
          store,
          type,
          param(request, 'movementId'),
          authOf(response).eori!,
        );
        const message = movement.messages.find(
          (candidate) => candidate.id === param(request, 'messageId'),
        );
        if (message === undefined) {
          throw notFound(
            `Message with ID ${param(request, 'messageId')} for movement ${movement.id} was not found`,
          );
        }
        const summary = messageSummary(movement, message);
        if (message.body === undefined) {
          response.json(summary);
          return;
        }
        if (accept.suffix === 'json') {
          if (message.body.length > jsonBodyLimit)
            throw new HmrcError(406, 'NOT_ACCEPTABLE', 'Large messages cannot be returned as json');
          response.json({
            ...summary,
            body: xmlToJson(message.body.toString('utf8'), accept.version),
          });
          return;
        }
        response.json({ ...summary, body: message.body.toString('utf8') });
      }),
    );

    router.get(
      `${base}/:movementId/messages/:messageId/body`,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkId(idName, param(request, 'movementId'));
        checkId('messageId', param(request, 'messageId'));
        const accept = ctcAccept(request, ['json', 'xml']);
        const movement = findMovement(
          store,
          type,
          param(request, 'movementId'),
          authOf(response).eori!,
        );
        const message = movement.messages.find(
          (candidate) => candidate.id === param(request, 'messageId'),
        );
        if (message === undefined) {
          throw notFound(
            `Message with ID ${param(request, 'messageId')} for movement ${movement.id} was not found`,
          );
        }
        if (message.body === undefined)
          throw notFound(`Body for message id ${message.id} does not exist`);
        if (accept.suffix === 'xml') {
          response.status(200).type('application/xml').send(message.body);
          return;
        }
        if (message.body.length > jsonBodyLimit)
          throw new HmrcError(406, 'NOT_ACCEPTABLE', 'Large messages cannot be returned as json');
        response.json(xmlToJson(message.body.toString('utf8'), accept.version));
      }),
    );
  }
  return router;
}
