import { movementPath } from '@ctc-hub/ppns';
import type { MovementType } from '@ctc-hub/db';
import { Router, type Request, type Response } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { ApiError, notFound, route } from '../http/errors.js';
import { messagesPath, movementIdField, movementsPath } from '../http/hateoas.js';
import { parsePaging, readPage } from '../http/paging.js';
import { dateTimeParam, hmrcIdParam, untilExclusive, withQuery } from '../http/params.js';
import {
  BODY_CHUNK_BYTES,
  findMessage,
  findMessageHead,
  listMovementMessages,
  readBodyChunk,
  type MessageHeadRow,
  type MovementKey,
} from './message-queries.js';
import { messageJson, messageSummaryJson } from './present.js';
import { findMovement } from './queries.js';
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
        const { message } = await visibleMessage(deps, movementType, request, findMessage, {
          refuse: convertedJson,
          hint: 'application/vnd.hmrc.2.1+json-xml (the XML body as a JSON string)',
        });
        response.json(messageJson(message));
      }),
    );

    router.get(
      `${movementRoute}/messages/:messageId/body`,
      route(async (request, response) => {
        const { movement, message } = await visibleMessage(
          deps,
          movementType,
          request,
          findMessageHead,
          { refuse: convertedJson, hint: 'application/vnd.hmrc.2.1+xml' },
        );
        await sendXmlBody(deps, request, response, movement, message);
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
async function visibleMessage<Row>(
  deps: ApiDeps,
  movementType: MovementType,
  request: Request,
  find: (db: ApiDeps['db'], movement: MovementKey, messageId: string) => Promise<Row | undefined>,
  accept: AcceptRule,
): Promise<{ movement: MovementKey; message: Row }> {
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
  const message = await find(deps.db, movement, messageId);
  if (message === undefined) throw messageNotFound(movementId, messageId);
  return { movement, message };
}

/**
 * The stored XML, unchanged, with its exact length and an ETag of its SHA-256 (stored with the
 * message), so clients can check the bytes and revalidate cheaply. No charset is added: the XML
 * declares its own encoding.
 *
 * A small body came with the head and is sent as is. A large one is streamed in chunks of
 * BODY_CHUNK_BYTES, each read with its own query and written once the socket drained the one
 * before: memory stays at about one chunk (its hex text, the string and the bytes) whatever the
 * message size, where reading a 20 MB body whole held over 200 MB and blocked the event loop
 * for hundreds of ms decoding hex. A body that can no longer be read (the message's partition
 * dropped meanwhile) cuts the connection: the client sees fewer bytes than Content-Length.
 */
async function sendXmlBody(
  deps: ApiDeps,
  request: Request,
  response: Response,
  movement: MovementKey,
  message: MessageHeadRow,
): Promise<void> {
  const total = Number(message.body_bytes);
  if (total === 0) {
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
  response.setHeader('Content-Length', String(total));
  if (message.body !== null || request.method === 'HEAD') {
    response.end(message.body ?? undefined);
    return;
  }
  try {
    for (let offset = 0; offset < total; offset += BODY_CHUNK_BYTES) {
      if (response.destroyed) return;
      const length = Math.min(BODY_CHUNK_BYTES, total - offset);
      const chunk = await readBodyChunk(deps.db, movement, message.message_id, offset, length);
      if (chunk === undefined || chunk.length !== length) {
        throw new Error(`body of message ${message.message_id} changed while it was being sent`);
      }
      if (!response.write(chunk)) {
        await drainedOrClosed(response);
      }
    }
    response.end();
  } catch (error) {
    deps.logger.error(
      { err: error, movementId: movement.movement_id, messageId: message.message_id },
      'message body stream failed',
    );
    response.destroy(error as Error);
  }
}

/** Resolves when the socket wants more, or when it closed (the loop then sees `destroyed`). */
function drainedOrClosed(response: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2): W/"x" matches "x". */
function matchesEtag(candidate: string, etag: string): boolean {
  const tag = candidate.trim();
  return tag === '*' || tag === etag || tag === `W/${etag}`;
}
