import type { DeadLetterStatus } from '@ctc-hub/db';
import { movementPath } from '@ctc-hub/ppns';
import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { notFound, route } from '../http/errors.js';
import { iso, isoOrNull } from '../http/hateoas.js';
import { parsePaging, readPage } from '../http/paging.js';
import {
  dateTimeParam,
  textParam,
  untilExclusive,
  uuidParam,
  uuidQuery,
  withQuery,
} from '../http/params.js';
import { checked } from '../http/schemas.js';
import { deadLetterActionRoutes } from './actions.js';
import { deadLetterKind } from './filter.js';
import { deadLetterListQuery } from './openapi.js';
import {
  findDeadLetter,
  listDeadLetters,
  type DeadLetterListRow,
  type DeadLetterRow,
} from './queries.js';

/**
 * Dead letters: what the pipeline could not process, kept with what is needed to replay it. Every
 * dead-letter route is mounted from here. The reads are below:
 *   GET /v1/dead-letters?kind=&errorCode=&from=&to=&boxId=&eori=&status=&page=&count=
 *       newest first, paged like the HMRC lists, without payload and error history; purged
 *       letters only with status=purged
 *   GET /v1/dead-letters/{id}   one dead letter with its payload and error history
 * replay, purge (one or by filter) and replay progress (/v1/replays/{id}) are in actions.ts.
 * A scoped API key sees only dead letters carrying one of its EORIs; those with no EORI (a
 * notification too broken to name one) are for unscoped keys only.
 */
export function deadLetterRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get(
    '/v1/dead-letters',
    route(async (request, response) => {
      response.json(await deadLetterList(deps, request));
    }),
  );
  router.get(
    '/v1/dead-letters/:deadLetterId',
    route(async (request, response) => {
      const id = uuidParam(request, 'deadLetterId');
      const row = await findDeadLetter(deps.db, id, eoriFilter(principalOf(request)));
      if (row === undefined) throw notFound(`Dead letter ${id} was not found`);
      response.json(deadLetterJson(row));
    }),
  );
  router.use(deadLetterActionRoutes(deps));
  return router;
}

function statusParam(request: Request): DeadLetterStatus | undefined {
  return checked(deadLetterListQuery.shape.status, textParam(request, 'status'));
}

async function deadLetterList(deps: ApiDeps, request: Request) {
  const kind = deadLetterKind(textParam(request, 'kind'));
  const errorCode = textParam(request, 'errorCode');
  const from = dateTimeParam(request, 'from');
  const to = dateTimeParam(request, 'to');
  const boxId = uuidQuery(request, 'boxId');
  const eori = textParam(request, 'eori')?.toUpperCase();
  const status = statusParam(request);
  const paging = parsePaging(request);

  const page = await readPage(paging, (limit, offset) =>
    listDeadLetters(
      deps.db,
      {
        eoris: eoriFilter(principalOf(request)),
        ...(kind !== undefined && { kind }),
        ...(errorCode !== undefined && { errorCode }),
        ...(from && { from: from.date }),
        ...(to && { before: untilExclusive(to.date) }),
        ...(boxId !== undefined && { boxId }),
        ...(eori !== undefined && { eori }),
        ...(status !== undefined && { status }),
      },
      limit,
      offset,
    ),
  );

  const self = withQuery('/v1/dead-letters', [
    ['kind', kind],
    ['errorCode', errorCode],
    ['from', from?.raw],
    ['to', to?.raw],
    ['boxId', boxId],
    ['eori', eori],
    ['status', status],
    ['page', paging.pageGiven],
    ['count', paging.countGiven],
  ]);
  return {
    _links: { self: { href: self } },
    totalCount: page.totalCount,
    deadLetters: page.items.map(deadLetterSummaryJson),
  };
}

function deadLetterSummaryJson(row: DeadLetterListRow): Record<string, unknown> {
  const movementLink =
    (row.movement_type === 'departure' || row.movement_type === 'arrival') &&
    row.movement_id !== null
      ? { movement: { href: movementPath(row.movement_type, row.movement_id) } }
      : {};
  const notificationLink =
    row.notification_id === null
      ? {}
      : { notification: { href: `/v1/notifications/${row.notification_id}` } };
  // A submit letter is filed under `submit:<submission id>`: the declaration it stands for.
  const submissionId = row.kind === 'submit' ? row.dedupe_key.slice('submit:'.length) : null;
  const submissionLink =
    submissionId === null ? {} : { submission: { href: `/v1/submissions/${submissionId}` } };
  return {
    _links: {
      self: { href: `/v1/dead-letters/${row.id}` },
      ...movementLink,
      ...notificationLink,
      ...submissionLink,
    },
    id: row.id,
    dedupeKey: row.dedupe_key,
    kind: row.kind,
    queue: row.queue,
    jobId: row.job_id,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    notificationId: row.notification_id,
    submissionId,
    boxId: row.box_id,
    eori: row.eori,
    movementType: row.movement_type,
    movementId: row.movement_id,
    messageId: row.message_id,
    status: row.status,
    occurrences: row.occurrences,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    replayedAt: isoOrNull(row.replayed_at),
    replayCount: row.replay_count,
  };
}

function deadLetterJson(row: DeadLetterRow): Record<string, unknown> {
  return { ...deadLetterSummaryJson(row), errorHistory: row.error_history, payload: row.payload };
}
