import { movementPath } from '@ctc-hub/ppns';
import type { MovementType } from '@ctc-hub/db';
import { jsonPhaseForApiVersion, nctsXmlToHmrcJsonText } from '@ctc-hub/ncts';
import { Router, type Request, type Response } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { route } from '../http/errors.js';
import { messagesPath, movementIdField, movementsPath } from '../http/hateoas.js';
import { hmrcNotAcceptable, hmrcNotFound } from '../http/hmrc-errors.js';
import { readPage } from '../http/paging.js';
import { untilExclusive } from '../http/params.js';
import { hmrcAccept, servedMediaTypes, type HmrcAccept } from './hmrc-accept.js';
import { hmrcDateTime, hmrcHref, hmrcPaging, hmrcPathId } from './hmrc-params.js';
import {
  BODY_CHUNK_BYTES,
  findMessage,
  findMessageHead,
  listMovementMessages,
  readBodyChunk,
  type MessageHeadRow,
  type MovementKey,
} from './message-queries.js';
import { hmrcMessageSummaryJson } from './present.js';
import { findMovement } from './queries.js';
import { messageNotFound, visibleMovement } from './visibility.js';

/**
 * A movement's messages, as HMRC's MovementsController serves them:
 *   GET …/{movementId}/messages                      newest first, paged, no bodies
 *   GET …/{movementId}/messages/{messageId}          the message with its body
 *   GET …/{movementId}/messages/{messageId}/body     the body alone
 *
 * Representations, chosen by the Accept header as HMRC chooses them (hmrc-accept.ts):
 *  - a message: `+json` puts the XML converted to JSON in `body` (HMRC's converter, in
 *    @ctc-hub/ncts), `+json-xml` / `+json+xml` the XML as a JSON string;
 *  - a body: `+xml` the stored bytes unchanged, `+json` the converted JSON alone.
 * HMRC converts only messages up to its small-message limit (5,000,000 bytes) to JSON; larger
 * ones answer 406 with its words.
 */
export function movementMessageRoutes(deps: ApiDeps): Router {
  const router = Router();
  for (const movementType of ['departure', 'arrival'] as const) {
    const idName = movementIdField(movementType);
    const movementRoute = `${movementsPath(movementType)}/:${idName}`;

    router.get(
      `${movementRoute}/messages`,
      route(async (request, response) => {
        response.json(await messageList(deps, movementType, request));
      }),
    );

    router.get(
      `${movementRoute}/messages/:messageId`,
      route(async (request, response) => {
        const { movementId, messageId } = pathIds(request, idName);
        const accept = hmrcAccept(request, servedMediaTypes.message);
        const movement = await scopedMovement(deps, movementType, request, movementId, messageId);
        const message = await findMessage(deps.db, movement, messageId);
        if (message === undefined) throw messageNotFound(movementId, messageId);
        const summary = JSON.stringify(hmrcMessageSummaryJson(message));
        if (message.body.length === 0) {
          sendJsonText(response, summary);
          return;
        }
        let body: string;
        if (accept.mediaType === 'json') {
          if (message.body.length > smallMessageSizeLimit)
            throw hmrcNotAcceptable('Large messages cannot be returned as json');
          body = convertedJson(message.body, message.phase, accept);
        } else {
          body = JSON.stringify(message.body.toString('utf8'));
        }
        sendJsonText(response, `${summary.slice(0, -1)},"body":${body}}`);
      }),
    );

    router.get(
      `${movementRoute}/messages/:messageId/body`,
      route(async (request, response) => {
        const { movementId, messageId } = pathIds(request, idName);
        const accept = hmrcAccept(request, servedMediaTypes.body);
        const movement = await scopedMovement(deps, movementType, request, movementId, messageId);
        const message = await findMessageHead(deps.db, movement, messageId);
        if (message === undefined) throw messageNotFound(movementId, messageId);
        const total = Number(message.body_bytes);
        // A submission whose file never arrived has no body, as in HMRC's "Body for message id …".
        if (total === 0) throw hmrcNotFound(`Body for message id ${messageId} does not exist`);
        if (accept.mediaType === 'xml') {
          await sendXmlBody(deps, request, response, movement, message);
          return;
        }
        if (total > smallMessageSizeLimit) {
          throw hmrcNotAcceptable(
            `Messages larger than ${smallMessageSizeLimit} bytes cannot be retrieved in JSON`,
          );
        }
        const xml = message.body ?? (await readWholeBody(deps, movement, message));
        sendJsonText(response, convertedJson(xml, message.phase, accept));
      }),
    );
  }
  return router;
}

/** HMRC's smallMessageSizeLimit: above it, no JSON conversion. */
export const smallMessageSizeLimit = 5_000_000;

function pathIds(request: Request, idName: string) {
  return {
    movementId: hmrcPathId(request, idName, 'movementId'),
    messageId: hmrcPathId(request, 'messageId', 'messageId'),
  };
}

/**
 * The movement of a message request. HMRC answers "Message with ID … was not found" both when
 * the message is missing and when the movement is not the caller's; so do we.
 */
async function scopedMovement(
  deps: ApiDeps,
  movementType: MovementType,
  request: Request,
  movementId: string,
  messageId: string,
): Promise<MovementKey> {
  const eoris = eoriFilter(principalOf(request));
  const movement = await findMovement(deps.db, movementType, movementId, eoris);
  if (movement === undefined) throw messageNotFound(movementId, messageId);
  return movement;
}

/**
 * The JSON HMRC's converter makes of a message. Its schema set is the API version's (2.1 →
 * phase 5, 3.0 → phase 6); the phase 5 set cannot read a phase 6 message (HMRC's converter
 * fails with a 500 there), so a 2.1 client asking for an NCTS6 message as JSON gets a 406
 * naming the version that can convert it.
 */
function convertedJson(xml: Buffer, phase: string | null, accept: HmrcAccept): string {
  if (accept.version === '2.1' && phase !== null && /^\s*NCTS6/.test(phase)) {
    throw hmrcNotAcceptable(
      `This message is NCTS phase 6 (${phase}): ask for it with application/vnd.hmrc.3.0+json`,
    );
  }
  const text = nctsXmlToHmrcJsonText(xml.toString('utf8'), jsonPhaseForApiVersion(accept.version));
  if (text === undefined) throw new Error('stored message has no XML root element');
  return text;
}

function sendJsonText(response: Response, text: string): void {
  response.status(200);
  response.setHeader('Content-Type', 'application/json');
  response.end(text);
}

async function readWholeBody(
  deps: ApiDeps,
  movement: MovementKey,
  message: MessageHeadRow,
): Promise<Buffer> {
  const total = Number(message.body_bytes);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < total; offset += BODY_CHUNK_BYTES) {
    const length = Math.min(BODY_CHUNK_BYTES, total - offset);
    const chunk = await readBodyChunk(deps.db, movement, message.message_id, offset, length);
    if (chunk === undefined) throw messageNotFound(movement.movement_id, message.message_id);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function messageList(deps: ApiDeps, movementType: MovementType, request: Request) {
  const movementId = hmrcPathId(request, movementIdField(movementType), 'movementId');
  const receivedSince = hmrcDateTime(request, 'receivedSince');
  const paging = hmrcPaging(request);
  const receivedUntil = hmrcDateTime(request, 'receivedUntil');
  hmrcAccept(request, servedMediaTypes.jsonOnly);
  paging.ensurePositive();
  const movement = await visibleMovement(deps, movementType, movementId, request);
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

  const self = hmrcHref(messagesPath(movementType, movement.movement_id), [
    ['receivedSince', receivedSince?.unbound],
    ['page', paging.pageGiven],
    ['count', paging.countGiven],
    ['receivedUntil', receivedUntil?.unbound],
  ]);
  return {
    _links: {
      self: { href: self },
      [movementType]: { href: movementPath(movementType, movement.movement_id) },
    },
    totalCount: page.totalCount,
    messages: page.items.map(hmrcMessageSummaryJson),
  };
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
export async function sendXmlBody(
  deps: ApiDeps,
  request: Request,
  response: Response,
  movement: MovementKey,
  message: MessageHeadRow,
): Promise<void> {
  const total = Number(message.body_bytes);
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
