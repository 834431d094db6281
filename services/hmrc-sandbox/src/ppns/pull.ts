import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { exactAccept } from '../core/accept.js';
import { HmrcError, route, param } from '../core/errors.js';
import type { RuntimeSettings } from '../core/settings.js';
import { authOf, type Authenticators } from '../oauth/auth.js';
import { notificationView, type PushService } from './push.js';

/**
 * PPNS pull (reference §1.6): list a box's notifications (oldest first, at most `count`,
 * default 100) and acknowledge them. Application-restricted; Accept must be exactly
 * application/vnd.hmrc.1.0+json. Pull returns notifications whatever happened to their push.
 */

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const statuses = new Set(['PENDING', 'ACKNOWLEDGED', 'FAILED']);
const allowedParams = new Set(['status', 'fromDate', 'toDate', 'count']);
const jsonBody = express.json({ type: ['application/json', 'text/json'], limit: '64kb' });
const invalidPayload = (message: string) => new HmrcError(400, 'INVALID_REQUEST_PAYLOAD', message);

/** Lenient ISO-8601 as PPNS parses it; a time without zone is UTC. */
function parseDate(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`;
  const time = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?/.test(text)
    ? Date.parse(withZone.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
    : Number.NaN;
  if (Number.isNaN(time)) throw invalidPayload(`Unparsable ${name}`);
  return time;
}

export function ppnsPullRoutes(
  push: PushService,
  settings: RuntimeSettings,
  auth: Authenticators,
): Router {
  const router = Router();
  const base = '/misc/push-pull-notification/box/:boxId/notifications';

  const box = (request: Request, response: Response): string => {
    const boxId = param(request, 'boxId');
    if (!uuidPattern.test(boxId)) throw new HmrcError(400, 'BAD_REQUEST', 'Box ID is not a UUID');
    if (boxId.toLowerCase() !== settings.boxId)
      throw new HmrcError(404, 'BOX_NOT_FOUND', 'Box not found');
    if (authOf(response).clientId !== settings.clientId)
      throw new HmrcError(403, 'FORBIDDEN', 'Access denied');
    return boxId.toLowerCase();
  };

  router.get(
    base,
    auth.pull,
    route((request: Request, response: Response) => {
      exactAccept(request, 'application/vnd.hmrc.1.0+json', 'ACCEPT_HEADER_INVALID');
      const boxId = box(request, response);
      const query = request.query as Record<string, unknown>;
      for (const name of Object.keys(query)) {
        if (!allowedParams.has(name)) throw invalidPayload(`Unknown parameter ${name}`);
      }
      const status = query.status === undefined ? undefined : String(query.status).toUpperCase();
      if (status !== undefined && !statuses.has(status)) throw invalidPayload('Invalid status');
      const from = parseDate('fromDate', query.fromDate);
      const to = parseDate('toDate', query.toDate);
      // PPNS requires fromDate strictly before toDate (validateToDateIsAfterFromDate): equal
      // bounds are refused too, with PPNS's own (inverted) words.
      if (from !== undefined && to !== undefined && from >= to) {
        throw new HmrcError(400, 'BAD_REQUEST', 'fromDate parameter is before toDateParameter');
      }
      let count = 100;
      if (query.count !== undefined) {
        count = /^\d+$/.test(String(query.count)) ? Number(query.count) : Number.NaN;
        if (!Number.isSafeInteger(count) || count < 1) throw invalidPayload('Invalid count');
      }
      const notifications = push
        .list(boxId)
        .filter(
          (notification) =>
            (status === undefined || notification.status === status) &&
            (from === undefined || notification.createdAt >= from) &&
            (to === undefined || notification.createdAt <= to),
        )
        .slice(0, count)
        .map(notificationView);
      response.json(notifications);
    }),
  );

  router.put(
    `${base}/acknowledge`,
    auth.acknowledge,
    (request: Request, response: Response, next: NextFunction) => {
      jsonBody(request, response, (error?: unknown) => {
        // A body that is not JSON is PPNS's INVALID_REQUEST_PAYLOAD, after the Accept check.
        if (error !== undefined && error !== null) response.locals.badJson = true;
        next();
      });
    },
    route((request: Request, response: Response) => {
      exactAccept(request, 'application/vnd.hmrc.1.0+json', 'ACCEPT_HEADER_INVALID');
      const boxId = box(request, response);
      const contentType = (request.headers['content-type'] ?? '').toLowerCase();
      if (!/^(application|text)\/json\b/.test(contentType)) {
        throw new HmrcError(415, 'BAD_REQUEST', 'Expecting text/json or application/json body');
      }
      if (response.locals.badJson === true)
        throw invalidPayload('JSON body is invalid against expected format');
      const ids = (request.body as { notificationIds?: unknown } | undefined)?.notificationIds;
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.length > 100 ||
        ids.some((id) => typeof id !== 'string' || !uuidPattern.test(id)) ||
        new Set(ids.map((id) => String(id).toLowerCase())).size !== ids.length
      ) {
        throw invalidPayload('JSON body is invalid against expected format');
      }
      push.acknowledge(boxId, ids as string[]);
      response.status(204).end();
    }),
  );

  return router;
}
