import { z } from 'zod';
import { apiKey, authErrors, isoTime, link, ok, type Registry } from '../openapi/common.js';

/** The change feed and its SSE stream (routes.ts). */

const cursor = z
  .string()
  .meta({ description: 'A cursor returned by this feed (`next`, or an event id), or `now`' });

const limitMessage = 'The limit parameter must be a positive number';
/** `limit`: 1 or more (default 100); above 1000 it is read as 1000. */
export const limitQuery = z
  .string()
  .regex(/^\d{1,9}$/, limitMessage)
  .refine((value) => Number(value) >= 1, limitMessage)
  .meta({
    type: 'integer',
    minimum: 1,
    description: 'Events per page, 1 or more (default 100, at most 1000)',
  });

const feedEvent = z
  .object({
    cursor: z.string(),
    kind: z.string(),
    createdAt: isoTime,
    movementType: z.string().nullable(),
    movementId: z.string().nullable(),
    messageId: z.string().nullable(),
    submissionId: z.string().nullable(),
    eori: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    _links: z.record(z.string(), link),
  })
  .meta({ id: 'FeedEvent' });

export function describeEvents(registry: Registry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/events',
    tags: ['Events'],
    summary: 'The change feed: events after a cursor',
    description:
      'Keep calling with `next`: nothing is missed or repeated. A key limited to some EORIs ' +
      'sees only their events.',
    security: apiKey,
    request: {
      query: z.object({
        after: cursor.optional(),
        limit: limitQuery.optional(),
      }),
    },
    responses: {
      200: ok(
        'A page of events',
        z
          .object({
            events: z.array(feedEvent),
            next: z.string(),
            _links: z.object({ self: link, next: link, stream: link }),
          })
          .meta({ id: 'EventPage' }),
      ),
      ...authErrors(),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/events/stream',
    tags: ['Events'],
    summary: 'The change feed as Server-Sent Events',
    description:
      '`id:` = cursor, `event:` = kind, `data:` = the event JSON. Resumes after Last-Event-ID, ' +
      'else `after`, else from the beginning.',
    security: apiKey,
    request: {
      query: z.object({ after: cursor.optional() }),
      headers: z.object({ 'Last-Event-ID': cursor.optional() }),
    },
    responses: {
      200: { description: 'The stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...authErrors(503),
    },
  });
}
