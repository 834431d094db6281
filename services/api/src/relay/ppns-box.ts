import {
  acknowledgeRelayBox,
  listRelayBox,
  relayConsumerByBox,
  type RelayConsumer,
} from '@ctc-hub/db';
import { ppnsNotificationJson, relayedNotification } from '@ctc-hub/ppns';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { ApiDeps } from '../deps.js';
import { authenticate, type ApiPrincipal, type parseApiKeys } from '../http/auth.js';
import { route, sendError } from '../http/errors.js';
import { isUuid } from '../http/params.js';
import { maxPerCall, parseBoxQuery, ppnsError } from './ppns-params.js';

/**
 * The relay's PPNS pull API, HMRC's paths and rules (PPNS `NotificationsController`), for a
 * consumer's box:
 *   GET /misc/push-pull-notification/box/{boxId}/notifications?status=&fromDate=&toDate=&count=
 *   PUT /misc/push-pull-notification/box/{boxId}/notifications/acknowledge {"notificationIds": […]}
 * A ctc-hub API key stands for HMRC's application token. A key may use a box when it may see
 * every EORI the consumer may see (an operator key uses any box): a key scoped to some EORIs
 * never reads another trader's notifications through a box. Another key's box is PPNS's 403
 * "Access denied"; an unknown box its 404.
 */

const ppnsAccept = 'application/vnd.hmrc.1.0+json';
const base = '/misc/push-pull-notification/box/:boxId/notifications';
const jsonBody = express.json({ type: ['application/json', 'text/json'], limit: '64kb' });

/**
 * API keys on the PPNS routes, answering as HMRC's API platform does when the token is missing
 * or not accepted.
 */
export function ppnsAuth(keys: ReturnType<typeof parseApiKeys>) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null)
      return sendError(
        response,
        ppnsError(401, 'MISSING_CREDENTIALS', 'Authentication information is not provided'),
      );
    const principal = authenticate(keys, match[1]!);
    if (principal === undefined)
      return sendError(
        response,
        ppnsError(401, 'INVALID_CREDENTIALS', 'Invalid Authentication information provided'),
      );
    request.principal = principal;
    next();
  };
}

/** Whether the key may use the consumer's box: it sees at least what the consumer sees. */
function mayUse(principal: ApiPrincipal, consumer: RelayConsumer): boolean {
  if (principal.eoris === '*') return true;
  if (consumer.eoris === null) return false;
  const allowed = principal.eoris;
  return consumer.eoris.every((eori) => allowed.has(eori));
}

export function ppnsBoxRoutes(deps: ApiDeps): Router {
  const router = Router();

  function checkAccept(request: Request): void {
    if (request.headers.accept !== ppnsAccept)
      throw ppnsError(406, 'ACCEPT_HEADER_INVALID', 'The accept header is missing or invalid');
  }

  function boxIdOf(request: Request): string {
    const boxId = String(request.params.boxId ?? '');
    if (!isUuid(boxId)) throw ppnsError(400, 'BAD_REQUEST', 'Box ID is not a UUID');
    return boxId.toLowerCase();
  }

  async function consumerOf(request: Request, boxId: string): Promise<RelayConsumer> {
    const consumer = await relayConsumerByBox(deps.db, boxId);
    if (consumer === undefined) throw ppnsError(404, 'BOX_NOT_FOUND', 'Box not found');
    if (!mayUse(request.principal!, consumer)) throw ppnsError(403, 'FORBIDDEN', 'Access denied');
    return consumer;
  }

  router.get(
    base,
    route(async (request, response) => {
      const boxId = boxIdOf(request);
      checkAccept(request);
      const query = parseBoxQuery(request);
      const consumer = await consumerOf(request, boxId);
      const entries = await listRelayBox(deps.db, consumer.id, query);
      const items = entries.flatMap((entry) => {
        const notification = relayedNotification(entry.envelope, consumer.box_id, entry.status);
        return notification === undefined ? [] : [ppnsNotificationJson(notification)];
      });
      response.type('application/json').send(`[${items.join(',')}]`);
    }),
  );

  router.put(
    `${base}/acknowledge`,
    (request: Request, response: Response, next: NextFunction) => {
      jsonBody(request, response, (error?: unknown) => {
        // Not JSON is PPNS's INVALID_REQUEST_PAYLOAD, after the Accept and Content-Type checks.
        if (error !== undefined && error !== null) response.locals.badJson = true;
        next();
      });
    },
    route(async (request, response) => {
      const boxId = boxIdOf(request);
      checkAccept(request);
      const contentType = (request.headers['content-type'] ?? '').toLowerCase();
      if (!/^(application|text)\/json\b/.test(contentType))
        throw ppnsError(415, 'BAD_REQUEST', 'Expecting text/json or application/json body');
      const invalid = () =>
        ppnsError(400, 'INVALID_REQUEST_PAYLOAD', 'JSON body is invalid against expected format');
      if (response.locals.badJson === true) throw invalid();
      const ids = (request.body as { notificationIds?: unknown } | undefined)?.notificationIds;
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.length > maxPerCall ||
        ids.some((id) => typeof id !== 'string' || !isUuid(id)) ||
        new Set(ids.map((id) => String(id).toLowerCase())).size !== ids.length
      )
        throw invalid();
      const consumer = await consumerOf(request, boxId);
      await acknowledgeRelayBox(deps.db, consumer.id, ids as string[]);
      response.status(204).end();
    }),
  );

  return router;
}
