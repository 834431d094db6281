import { movementPath } from '@ctc-hub/ppns';
import type { MovementType } from '@ctc-hub/db';
import { Router, type Request, type Response } from 'express';
import { eoriFilter, principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound, route } from '../errors.js';
import { findMessage, listMovementMessages, type MessageRow } from '../queries/messages.js';
import { findMovement } from '../queries/movements.js';
import {
  messageJson,
  messageSummaryJson,
  messagesPath,
  movementIdField,
  movementsPath,
} from './hateoas.js';
import {
  dateTimeParam,
  ensurePageExists,
  hmrcIdParam,
  offsetOf,
  parsePaging,
  untilExclusive,
  withQuery,
} from './params.js';
import { visibleMovement } from './visibility.js';

/**
 * A movement's messages, HMRC-compatible:
 *   GET …/{movementId}/messages                      newest first, paged, no bodies
 *   GET …/{movementId}/messages/{messageId}          JSON, `body` = the XML as a string
 *   GET …/{movementId}/messages/{messageId}/body     the stored XML, byte for byte
 *
 * Representations. HMRC serves a message as `+json-xml` (XML in a JSON string) or `+json` (the
 * XML converted to JSON), and a body as `+xml` or `+json`. We keep the XML exactly as NCTS wrote
 * it and never convert it, so:
 *  - the message endpoint always answers the `+json-xml` form, whether the client asked for
 *    `application/vnd.hmrc.2.1+json-xml`, `application/json`, `*\/*` or nothing;
 *  - the body endpoint always answers `application/xml`;
 *  - a client that asks *only* for HMRC's converted form (`application/vnd.hmrc.X.Y+json`) gets
 *    406 rather than a body of a different shape than it expects.
 */
export function movementMessageRoutes(deps: ApiDeps): Router {
  const router = Router();
  for (const movementType of ['departure', 'arrival'] as const) {
    const movementRoute = `${movementsPath(movementType)}/:${movementIdField(movementType)}`;

    router.get(
      `${movementRoute}/messages`,
      route(async (request, response) => {
        response.json(await messageList(deps, movementType, request));
      }),
    );

    router.get(
      `${movementRoute}/messages/:messageId`,
      route(async (request, response) => {
        const message = await visibleMessage(deps, movementType, request, {
          refuse: convertedJson,
          hint: 'application/vnd.hmrc.2.1+json-xml (the XML body as a JSON string)',
        });
        response.json(messageJson(message));
      }),
    );

    router.get(
      `${movementRoute}/messages/:messageId/body`,
      route(async (request, response) => {
        const message = await visibleMessage(deps, movementType, request, {
          refuse: convertedJson,
          hint: 'application/vnd.hmrc.2.1+xml',
        });
        sendXmlBody(request, response, message);
      }),
    );
  }
  return router;
}

async function messageList(deps: ApiDeps, movementType: MovementType, request: Request) {
  const receivedSince = dateTimeParam(request, 'receivedSince');
  const receivedUntil = dateTimeParam(request, 'receivedUntil');
  const paging = parsePaging(request);
  const movement = await visibleMovement(deps, movementType, request);
  const page = await listMovementMessages(
    deps.db,
    movement,
    {
      ...(receivedSince && { receivedSince: receivedSince.date }),
      ...(receivedUntil && { receivedBefore: untilExclusive(receivedUntil.date) }),
    },
    paging.count,
    offsetOf(paging),
  );
  ensurePageExists(paging, page.items.length);

  const self = withQuery(messagesPath(movementType, movement.movement_id), [
    ['receivedSince', receivedSince?.raw],
    ['page', paging.pageGiven],
    ['count', paging.countGiven],
    ['receivedUntil', receivedUntil?.raw],
  ]);
  return {
    _links: {
      self: { href: self },
      [movementType]: { href: movementPath(movementType, movement.movement_id) },
    },
    totalCount: page.totalCount,
    messages: page.items.map(messageSummaryJson),
  };
}

/** HMRC's converted-JSON media type, e.g. application/vnd.hmrc.2.1+json. */
const convertedJson = /^application\/vnd\.hmrc\.\d+\.\d+\+json$/;

/** Media types listed in Accept, lower-case, without parameters (q=…, charset=…). */
function acceptedMediaTypes(request: Request): string[] {
  const header = request.headers.accept;
  if (header === undefined) return [];
  return header
    .split(',')
    .map((part) => (part.split(';')[0] ?? '').trim().toLowerCase())
    .filter((type) => type !== '');
}

interface AcceptRule {
  /** Refuse with 406 when every listed media type matches this. */
  refuse: RegExp;
  /** What to ask for instead, for the 406 message. */
  hint: string;
}

const messageNotFound = (movementId: string, messageId: string) =>
  notFound(`Message with ID ${messageId} for movement ${movementId} was not found`);

/**
 * The message named in the path, with its body. HMRC answers "Message with ID … was not found"
 * both when the message is missing and when the movement is not the caller's; so do we.
 */
async function visibleMessage(
  deps: ApiDeps,
  movementType: MovementType,
  request: Request,
  accept: AcceptRule,
): Promise<MessageRow> {
  const movementId = hmrcIdParam(request, movementIdField(movementType));
  const messageId = hmrcIdParam(request, 'messageId');
  const types = acceptedMediaTypes(request);
  if (types.length > 0 && types.every((type) => accept.refuse.test(type))) {
    throw new ApiError(
      406,
      'NOT_ACCEPTABLE',
      `Messages are kept as NCTS XML and not converted to JSON: ask for ${accept.hint}`,
    );
  }
  const eoris = eoriFilter(principalOf(request));
  const movement = await findMovement(deps.db, movementType, movementId, eoris);
  if (movement === undefined) throw messageNotFound(movementId, messageId);
  const message = await findMessage(deps.db, movement, messageId);
  if (message === undefined) throw messageNotFound(movementId, messageId);
  return message;
}

/**
 * The stored XML, unchanged: the Buffer goes to the socket as it came from Postgres, with its
 * exact length and an ETag of its SHA-256 (stored with the message), so clients can check the
 * bytes and revalidate cheaply. No charset is added: the XML declares its own encoding.
 */
function sendXmlBody(request: Request, response: Response, message: MessageRow): void {
  if (message.body.length === 0) {
    // A submission whose file never arrived has no body, as in HMRC's "Body for message id …".
    throw notFound(`Body for message id ${message.message_id} does not exist`);
  }
  const etag = `"${message.sha256.toString('hex')}"`;
  response.setHeader('ETag', etag);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => matchesEtag(tag, etag))) {
    response.status(304).end();
    return;
  }
  response.status(200);
  response.setHeader('Content-Type', 'application/xml');
  response.setHeader('Content-Length', String(message.body.length));
  response.end(message.body);
}

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2): W/"x" matches "x". */
function matchesEtag(candidate: string, etag: string): boolean {
  const tag = candidate.trim();
  return tag === '*' || tag === etag || tag === `W/${etag}`;
}
