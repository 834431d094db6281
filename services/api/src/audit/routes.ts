import { Router } from 'express';
import type { ApiDeps } from '../deps.js';
import { operatorOf } from '../http/auth.js';
import { route } from '../http/errors.js';
import { iso } from '../http/hateoas.js';
import { parsePaging, readPage } from '../http/paging.js';
import { dateTimeParam, textParam, untilExclusive, withQuery } from '../http/params.js';
import { listAuditEntries } from './queries.js';

/**
 * The operator audit trail (who replayed or purged what, when, and how it ended):
 *   GET /v1/audit?action=&actor=&outcome=&from=&to=&page=&count=   newest first
 * `action` matches a prefix (`dead-letter.purge` also finds `dead-letter.purge.bulk`). Entries
 * name letters of every trader, so only keys that are not limited to some EORIs may read it (403
 * otherwise, like the operator pages).
 */
export function auditRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get(
    '/v1/audit',
    route(async (request, response) => {
      operatorOf(
        request,
        'The audit log spans every trader: use an API key that is not limited to some EORIs',
      );
      const action = textParam(request, 'action');
      const actor = textParam(request, 'actor');
      const outcome = textParam(request, 'outcome');
      const from = dateTimeParam(request, 'from');
      const to = dateTimeParam(request, 'to');
      const paging = parsePaging(request);

      const { items, totalCount } = await readPage(paging, (limit, offset) =>
        listAuditEntries(
          deps.db,
          {
            ...(action !== undefined && { action }),
            ...(actor !== undefined && { actor }),
            ...(outcome !== undefined && { outcome }),
            ...(from && { from: from.date }),
            ...(to && { before: untilExclusive(to.date) }),
          },
          limit,
          offset,
        ),
      );

      response.json({
        _links: {
          self: {
            href: withQuery('/v1/audit', [
              ['action', action],
              ['actor', actor],
              ['outcome', outcome],
              ['from', from?.raw],
              ['to', to?.raw],
              ['page', paging.pageGiven],
              ['count', paging.countGiven],
            ]),
          },
        },
        totalCount,
        entries: items.map((row) => ({
          id: Number(row.id),
          at: iso(row.at),
          actor: row.actor,
          action: row.action,
          target: row.target,
          outcome: row.outcome,
          details: row.details,
        })),
      });
    }),
  );
  return router;
}
