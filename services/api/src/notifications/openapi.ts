import { z } from 'zod';
import { dateTimeQuery, enumQuery, uuidPath, uuidQuery } from '../http/schemas.js';
import { apiKey, authErrors, link, ok, paging, type Registry } from '../openapi/common.js';

/** What became of a PPNS notification (routes.ts). */
export function describeNotifications(registry: Registry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/notifications',
    tags: ['Messages'],
    summary: 'PPNS notifications received, newest first',
    security: apiKey,
    request: {
      query: z.object({
        status: enumQuery(
          'status',
          ['stored', 'duplicate', 'quarantined', 'queued'],
          'What became of them',
        ).optional(),
        boxId: uuidQuery('boxId', 'PPNS box').optional(),
        from: dateTimeQuery('from', 'Received at or after').optional(),
        to: dateTimeQuery('to', 'Received at or before').optional(),
        ...paging,
      }),
    },
    responses: {
      200: ok(
        'A page of notifications',
        z
          .object({
            _links: z.object({ self: link }).loose(),
            totalCount: z.number().int(),
            notifications: z.array(z.object({}).loose()),
          })
          .loose()
          .meta({ id: 'NotificationList' }),
      ),
      ...authErrors(404),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/notifications/{notificationId}',
    tags: ['Messages'],
    summary: 'What became of a PPNS notification',
    description:
      'Stored, duplicate, quarantined, or still queued (accepted by the receiver, not yet ' +
      'stored), with times, error history and links to the movement and message it carried.',
    security: apiKey,
    request: {
      params: z.object({ notificationId: uuidPath('notificationId', 'PPNS notification id') }),
    },
    responses: {
      200: ok(
        'The notification',
        z
          .object({ status: z.string() })
          .loose()
          .meta({ id: 'NotificationStatus', description: 'status: stored, duplicate, queued, …' }),
      ),
      ...authErrors(404, 503),
    },
  });
}
