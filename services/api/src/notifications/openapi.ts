import { z } from 'zod';
import { uuidPath } from '../http/schemas.js';
import { apiKey, authErrors, ok, type Registry } from '../openapi/common.js';

/** What became of a PPNS notification (routes.ts). */
export function describeNotifications(registry: Registry): void {
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
