import { z } from 'zod';
import { dateTimeQuery, textQuery } from '../http/schemas.js';
import { apiKey, authErrors, isoTime, link, ok, paging, type Registry } from '../openapi/common.js';

/** The operator audit trail (routes.ts). */
export function describeAudit(registry: Registry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/audit',
    tags: ['Operations'],
    summary: 'The audit trail: who replayed or purged what, when, and how it ended',
    description: 'Operator keys only (403 for a key limited to some EORIs). Newest first.',
    security: apiKey,
    request: {
      query: z.object({
        action: textQuery('action', 'Action prefix, e.g. dead-letter.purge').optional(),
        actor: textQuery('actor', 'API key id').optional(),
        outcome: textQuery('outcome', 'accepted, refused, no-op, …').optional(),
        from: dateTimeQuery('from', 'At or after').optional(),
        to: dateTimeQuery('to', 'At or before').optional(),
        ...paging,
      }),
    },
    responses: {
      200: ok(
        'A page of audit entries',
        z
          .object({
            _links: z.object({ self: link }),
            totalCount: z.number().int(),
            entries: z.array(
              z.object({
                id: z.number().int(),
                at: isoTime,
                actor: z.string(),
                action: z.string(),
                target: z.unknown(),
                outcome: z.string(),
                details: z.unknown(),
              }),
            ),
          })
          .meta({ id: 'AuditPage' }),
      ),
      ...authErrors(403, 404),
    },
  });
}
