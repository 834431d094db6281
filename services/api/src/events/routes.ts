import {
  decodeCursor,
  encodeCursor,
  feedEventJson,
  feedStart,
  readEventFeed,
  type FeedPosition,
} from '@ctc-hub/db';
import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { badRequest, route } from '../http/errors.js';
import { queryValue, withQuery } from '../http/params.js';
import { checked } from '../http/schemas.js';
import { limitQuery } from './openapi.js';
import { defaultStreamOptions, EventStreams, type EventStreamOptions } from './stream.js';

/**
 * The change feed, for internal systems that follow what happens without polling movements.
 *
 * GET /v1/events?after=<cursor>&limit=<n>
 *   Events in feed order after the cursor (from the beginning of what retention kept when
 *   `after` is absent; `after=now` starts at the end). `next` is where to resume, also when the
 *   page is empty: keep calling with it and nothing is missed or repeated (event-feed.ts says
 *   why). A key limited to some EORIs sees only their events; its cursor moves over the others.
 *
 * GET /v1/events/stream
 *   The same events as Server-Sent Events (`id:` = cursor, `event:` = kind, `data:` = the event
 *   JSON), resuming after the Last-Event-ID header, else `after`, else from the beginning.
 */
export function eventRoutes(deps: ApiDeps): Router {
  return createEventRoutes(deps).router;
}

export const defaultEventLimit = 100;
export const maxEventLimit = 1000;

export function createEventRoutes(
  deps: ApiDeps,
  options: Partial<EventStreamOptions> = {},
): { router: Router; streams: EventStreams } {
  const streams = new EventStreams(deps.db, deps.logger, {
    maxStreams: deps.config.EVENT_STREAM_MAX_CLIENTS,
    maxStreamsPerKey: deps.config.EVENT_STREAM_MAX_CLIENTS_PER_KEY,
    heartbeatMs: deps.config.EVENT_STREAM_HEARTBEAT_SECONDS * 1000,
    ...defaultStreamOptions,
    ...options,
  });
  const router = Router();

  router.get(
    '/v1/events',
    route(async (request, response) => {
      const afterGiven = nonEmpty(queryValue(request, 'after'));
      const after = afterGiven === undefined ? feedStart : position(afterGiven, 'after');
      const { limit, limitGiven } = limitParam(request);
      const page = await readEventFeed(deps.db, {
        after,
        limit,
        eoris: eoriFilter(principalOf(request)),
      });
      const next = encodeCursor(page.next);
      response.json({
        events: page.events.map(feedEventJson),
        next,
        _links: {
          self: {
            href: withQuery('/v1/events', [
              ['after', afterGiven],
              ['limit', limitGiven],
            ]),
          },
          next: {
            href: withQuery('/v1/events', [
              ['after', next],
              ['limit', limitGiven],
            ]),
          },
          stream: { href: withQuery('/v1/events/stream', [['after', next]]) },
        },
      });
    }),
  );

  router.get(
    '/v1/events/stream',
    route(async (request, response) => {
      // An EventSource reconnects to the URL it was opened with, `after` included, and adds the
      // last id it received; that id is the later position, so it wins.
      const lastEventId = nonEmpty(request.get('last-event-id'));
      const afterGiven = nonEmpty(queryValue(request, 'after'));
      const start =
        lastEventId !== undefined
          ? position(lastEventId, 'Last-Event-ID')
          : afterGiven !== undefined
            ? position(afterGiven, 'after')
            : feedStart;
      const principal = principalOf(request);
      await streams.serve(response, start, eoriFilter(principal), principal.keyId);
    }),
  );

  return { router, streams };
}

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
};

function position(value: string, name: string): FeedPosition | 'now' {
  if (value === 'now') return 'now';
  const decoded = decodeCursor(value);
  if (decoded === undefined)
    throw badRequest(`${name} must be a cursor returned by this feed, or now`);
  return decoded;
}

/** `limit`: 1 or more, default 100; above 1000 it is 1000 (a page is never promised to be full). */
function limitParam(request: Request): { limit: number; limitGiven: number | undefined } {
  const raw = nonEmpty(queryValue(request, 'limit'));
  if (raw === undefined) return { limit: defaultEventLimit, limitGiven: undefined };
  const value = Number(checked(limitQuery, raw));
  return { limit: Math.min(value, maxEventLimit), limitGiven: value };
}
