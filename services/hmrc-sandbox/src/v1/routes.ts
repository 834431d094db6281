import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { parseNctsMessage, type MessageSummary } from '@ctc-hub/ncts';
import { type Phase4Root } from '@ctc-hub/ncts-testkit';
import type { SandboxContext } from '../core/controls.js';
import { HmrcError, param, route, sendError } from '../core/errors.js';
import {
  movementTypeOf,
  type Collection,
  type Movement,
  type MovementType,
  type StoredMessage,
} from '../core/store.js';
import { answerSubmission } from '../faults/faults.js';
import { messageHref, movementHref } from '../movements/hateoas.js';
import { dateTimeParam } from '../movements/paging.js';
import { authenticate, authOf, type Authenticators } from '../oauth/auth.js';
import { requestedOutcome } from '../submissions/routes.js';
import {
  v1Box,
  v1BoxPath,
  v1Message,
  v1MessageList,
  v1Movement,
  v1MovementList,
  v1NewMessageResponse,
  v1NewMovementResponse,
} from './bodies.js';
import { V1Error, v1BadRequest, v1ErrorHandler, v1NotAcceptable, v1NotFound } from './errors.js';
import type { Phase4Submission } from './lifecycle.js';

/**
 * The retired CTC Traders API 1.0 (phase 4), reference §2.1 and §3.8. The sandbox picks it per
 * request: an Accept header naming version 1.0 (`application/vnd.hmrc.1.0+…`) is handled here;
 * anything else falls through to the v2.1/3.0 routes, which is also where a v1-only path (PUT
 * /arrivals/{id}, the box endpoint) ends up as 404 MATCHING_RESOURCE_NOT_FOUND.
 *
 *   POST /movements/departures                 CC015B → 202, Location, _embedded.notifications
 *   POST /movements/departures/{id}/messages   CC014A → 202
 *   POST /movements/arrivals                   CC007A → 202, Location, _embedded.notifications
 *   PUT  /movements/arrivals/{id}              CC007A resubmitted (e.g. after CC008A) → 202
 *   POST /movements/arrivals/{id}/messages     CC044A → 202
 *   GET  /movements/{departures|arrivals}[/{id}[/messages[/{messageId}]]]
 *   GET  /movements/push-pull-notifications/box (application token) → {boxId, boxName, _links}
 *
 * Accept must then be exactly application/vnd.hmrc.1.0+json (406 otherwise), submissions need
 * an XML Content-Type (415 "Expecting xml body", as Play's XML body parser said) and at most
 * 4,900,000 bytes (413). There are no phase-4 XSDs: a submission must be well-formed (400
 * "Invalid XML: …") and have the endpoint's root element without a namespace (400).
 */

export const v1AcceptHeader = 'application/vnd.hmrc.1.0+json';
/** "max 4.9 MB" (reference §3.8), read as 4,900,000 bytes. */
export const v1MessageLimit = 4_900_000;

const v1Version = /^application\/vnd\.hmrc\.1\.0\+/i;

/** True when the Accept header asks for API version 1.0 (whatever the suffix). */
export const isV1Request = (request: Request): boolean =>
  v1Version.test(request.headers.accept?.trim() ?? '');

/** Lets v1 requests into a route; the others skip to the next route (v2.x). */
function v1Only(request: Request, _response: Response, next: NextFunction): void {
  if (isV1Request(request)) next();
  else next('route');
}

function checkAccept(request: Request): void {
  if (request.headers.accept?.trim().toLowerCase() !== v1AcceptHeader) throw v1NotAcceptable();
}

/** Play's `parse.xml`: text/xml, application/xml or application/*+xml, any parameters. */
function checkXmlContentType(request: Request): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (
    type === 'application/xml' ||
    type === 'text/xml' ||
    /^application\/[\w.+-]+\+xml$/.test(type)
  )
    return;
  throw new V1Error(415, 'Expecting xml body');
}

const readRaw = express.raw({ type: () => true, limit: v1MessageLimit });

function readBody(request: Request, response: Response): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readRaw(request, response, (error?: unknown) => {
      if (error !== undefined && error !== null) return reject(error);
      resolve(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
    });
  });
}

/** Well-formed, and the endpoint's phase-4 root with no namespace: all v1 checks without XSDs. */
function readPhase4(xml: Buffer, expected: Phase4Root): MessageSummary {
  const parsed = parseNctsMessage(xml, { maxBytes: v1MessageLimit });
  if (!parsed.ok) throw v1BadRequest(`Invalid XML: ${parsed.error.message}`);
  const { rootElement, namespace } = parsed.summary;
  if (rootElement !== expected || namespace !== null) {
    throw v1BadRequest(
      `The root element must be ${expected} without a namespace, not ${rootElement}` +
        (namespace === null ? '' : ` in ${namespace}`),
    );
  }
  if (expected === 'CC007A' && parsed.summary.mrn === null)
    throw v1BadRequest('The arrival notification has no MRN (HEAHEA/DocNumHEA5)');
  return parsed.summary;
}

const submissionOf = (summary: MessageSummary): Phase4Submission => ({
  messageIdentification: summary.header.messageIdentification,
  goodsItemCount: summary.goodsItemCount,
});

const ieOf = (root: Phase4Root) => `IE${root.slice(2, 5)}`;

/** v1 ids were Ints bound by Play; anything else failed before the controller. */
function checkV1Id(name: string, value: string): string {
  if (!/^\d{1,9}$/.test(value))
    throw v1BadRequest(`Cannot parse parameter ${name} as Int: For input string: "${value}"`);
  return String(Number(value));
}

const label = (type: MovementType) => (type === 'departure' ? 'Departure' : 'Arrival');

const created: Record<MovementType, Phase4Root> = { departure: 'CC015B', arrival: 'CC007A' };
const followUp: Record<MovementType, Phase4Root> = { departure: 'CC014A', arrival: 'CC044A' };

export function v1Routes(context: SandboxContext, auth: Authenticators): Router {
  const { store, settings, stats, hanging, phase4 } = context;
  const router = Router();
  // The v1 box endpoint was application-restricted with the CTC scope.
  const boxAuth = authenticate(context.tokens, context.limiter, stats, {
    kind: 'application',
    scope: 'common-transit-convention-traders',
  });

  const findV1 = (type: MovementType, id: string, response: Response): Movement => {
    const movement = store.visibleV1(type, id, authOf(response).eori!);
    if (movement === undefined) throw v1NotFound(`${label(type)} with ID ${id} was not found`);
    return movement;
  };

  const findMessage = (movement: Movement, messageId: string): StoredMessage => {
    const message = store.findMessage(movement, messageId);
    if (message === undefined) {
      throw v1NotFound(
        `Message with ID ${messageId} for ${movement.type} ${movement.id} was not found`,
      );
    }
    return message;
  };

  /** Stores an accepted trader message and starts NCTS's answers. */
  const accept = (
    movement: Movement,
    root: Phase4Root,
    xml: Buffer,
    summary: MessageSummary,
    request: Request,
  ): StoredMessage => {
    const outcome = requestedOutcome(request);
    const message = store.addMessage(movement, {
      messageType: ieOf(root),
      status: 'Success',
      body: xml,
    });
    const submission = submissionOf(summary);
    switch (root) {
      case 'CC015B':
        phase4.afterDeclaration(movement, submission, outcome);
        break;
      case 'CC014A':
        phase4.afterCancellationRequest(movement, submission, outcome);
        break;
      case 'CC007A':
        phase4.afterArrivalNotification(movement, submission, outcome);
        break;
      case 'CC044A':
        phase4.afterUnloadingRemarks(movement, submission, outcome);
        break;
    }
    return message;
  };

  /** Content-Type, size, well-formedness and root, in Play's order (body parser, then checks). */
  const readSubmission = async (request: Request, response: Response, root: Phase4Root) => {
    // Checked before the body is read so a bad header cannot cost an upload.
    requestedOutcome(request);
    checkXmlContentType(request);
    const xml = await readBody(request, response);
    return { xml, summary: readPhase4(xml, root) };
  };

  for (const collection of ['departures', 'arrivals'] as Collection[]) {
    const type = movementTypeOf(collection);
    const base = `/customs/transits/movements/${collection}`;
    const idName = type === 'departure' ? 'departureId' : 'arrivalId';

    router.post(
      base,
      v1Only,
      auth.ctc,
      route(async (request: Request, response: Response) => {
        checkAccept(request);
        const { xml, summary } = await readSubmission(request, response, created[type]);
        const eori = authOf(response).eori!;
        const movement = store.create({
          type,
          apiVersion: '1.0',
          enrollmentEori: eori,
          ...(type === 'departure'
            ? {
                lrn: summary.lrn ?? undefined,
                movementEori: summary.holderEori ?? eori,
                officeOfDeparture: summary.officeOfDeparture ?? undefined,
              }
            : {
                mrn: summary.mrn ?? undefined,
                movementEori: summary.traderAtDestinationEori ?? eori,
              }),
          officeOfDestination: summary.officeOfDestination ?? undefined,
          boxId: settings.boxConfigured ? settings.boxId : undefined,
        });
        const message = accept(movement, created[type], xml, summary, request);
        response.setHeader('location', movementHref(type, movement.id));
        answerSubmission(response, stats, hanging, 202, v1NewMovementResponse(movement, message));
      }),
    );

    if (type === 'arrival') {
      // Resubmission of the arrival notification (e.g. after a CC008A rejection). HMRC's
      // phase-4 backend accepted it for any arrival of the trader; so does the sandbox.
      router.put(
        `${base}/:movementId`,
        v1Only,
        auth.ctc,
        route(async (request: Request, response: Response) => {
          checkAccept(request);
          const id = checkV1Id(idName, param(request, 'movementId'));
          const movement = findV1(type, id, response);
          const { xml, summary } = await readSubmission(request, response, 'CC007A');
          movement.mrn = summary.mrn ?? movement.mrn;
          movement.movementEori = summary.traderAtDestinationEori ?? movement.movementEori;
          movement.officeOfDestination =
            summary.officeOfDestination ?? movement.officeOfDestination;
          const message = accept(movement, 'CC007A', xml, summary, request);
          response.setHeader('location', movementHref(type, movement.id));
          answerSubmission(response, stats, hanging, 202, v1NewMovementResponse(movement, message));
        }),
      );
    }

    router.post(
      `${base}/:movementId/messages`,
      v1Only,
      auth.ctc,
      route(async (request: Request, response: Response) => {
        checkAccept(request);
        const id = checkV1Id(idName, param(request, 'movementId'));
        const movement = findV1(type, id, response);
        const { xml, summary } = await readSubmission(request, response, followUp[type]);
        const message = accept(movement, followUp[type], xml, summary, request);
        response.setHeader('location', messageHref(type, movement.id, message.id));
        answerSubmission(response, stats, hanging, 202, v1NewMessageResponse(movement, message));
      }),
    );

    router.get(
      base,
      v1Only,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkAccept(request);
        const updatedSince = dateTimeParam(
          request.query as Record<string, unknown>,
          'updatedSince',
        );
        const movements = store
          .list(type, authOf(response).eori!, '1.0')
          .filter((movement) => updatedSince === undefined || movement.updated >= updatedSince.time)
          .sort((a, b) => b.updated - a.updated || b.created - a.created);
        response.json(v1MovementList(type, movements));
      }),
    );

    router.get(
      `${base}/:movementId`,
      v1Only,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkAccept(request);
        const id = checkV1Id(idName, param(request, 'movementId'));
        response.json(v1Movement(findV1(type, id, response)));
      }),
    );

    router.get(
      `${base}/:movementId/messages`,
      v1Only,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkAccept(request);
        const id = checkV1Id(idName, param(request, 'movementId'));
        const receivedSince = dateTimeParam(
          request.query as Record<string, unknown>,
          'receivedSince',
        );
        const movement = findV1(type, id, response);
        // Oldest first, as the phase-4 backends kept them.
        const messages = movement.messages.filter(
          (message) => receivedSince === undefined || message.received >= receivedSince.time,
        );
        response.json(v1MessageList(movement, messages));
      }),
    );

    router.get(
      `${base}/:movementId/messages/:messageId`,
      v1Only,
      auth.ctc,
      route((request: Request, response: Response) => {
        checkAccept(request);
        const id = checkV1Id(idName, param(request, 'movementId'));
        const messageId = checkV1Id('messageId', param(request, 'messageId'));
        const movement = findV1(type, id, response);
        response.json(v1Message(movement, findMessage(movement, messageId)));
      }),
    );
  }

  router.get(
    v1BoxPath,
    v1Only,
    boxAuth,
    route((request: Request, response: Response) => {
      checkAccept(request);
      if (!settings.boxConfigured)
        throw new V1Error(404, 'No box found for your client id', 'CLIENT_ERROR');
      response.json(v1Box(settings.boxId));
    }),
  );

  // Any other path under the API with Accept 1.0 did not exist in v1 (e.g. …/messages/{id}/body).
  router.all('/customs/transits/movements/*rest', v1Only, (_request: Request, response: Response) =>
    sendError(
      response,
      new HmrcError(
        404,
        'MATCHING_RESOURCE_NOT_FOUND',
        'A resource with the name in the request can not be found in the API',
      ),
    ),
  );

  router.use(v1ErrorHandler());
  return router;
}
