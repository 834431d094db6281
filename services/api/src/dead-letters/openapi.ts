import { deadLetterKinds } from '@ctc-hub/db';
import { z } from 'zod';
import { dateTimeQuery, enumQuery, textQuery, uuidPath, uuidQuery } from '../http/schemas.js';
import {
  apiKey,
  authErrors,
  isoTime,
  isoTimeOrNull,
  link,
  ok,
  paging,
  uuid,
  type Registry,
} from '../openapi/common.js';
import { bulkActionBody } from './filter.js';

/** Dead letters, their replay and purge, and replay progress (routes.ts, actions.ts). */

const tag = 'Dead letters';

export const deadLetterStatuses = ['open', 'replayed', 'resolved', 'purged'] as const;

export const deadLetterListQuery = z.object({
  kind: textQuery('kind', `What failed: one of ${deadLetterKinds.join(', ')}`).optional(),
  errorCode: textQuery('errorCode', 'The error code recorded').optional(),
  from: dateTimeQuery('from', 'Created at or after').optional(),
  to: dateTimeQuery('to', 'Created at or before').optional(),
  boxId: uuidQuery('boxId', 'PPNS box').optional(),
  eori: textQuery('eori', 'Trader EORI').optional(),
  status: enumQuery(
    'status',
    deadLetterStatuses,
    'Default: all but purged; purged letters only with status=purged',
  ).optional(),
  ...paging,
});

/** POST /v1/dead-letters/{id}/replay: `force` replays one already replayed again. */
export const singleReplayBody = z
  .object({ force: z.boolean().optional() })
  .strict()
  .meta({ id: 'ReplayOne' });

const deadLetterId = z.object({ deadLetterId: uuidPath('deadLetterId', 'Dead letter id') });

const summary = z
  .object({
    _links: z.object({ self: link, movement: link.optional(), notification: link.optional() }),
    id: uuid,
    dedupeKey: z.string(),
    kind: z.string(),
    queue: z.string(),
    jobId: z.string().nullable(),
    errorCode: z.string(),
    errorMessage: z.string(),
    notificationId: z.string().nullable(),
    boxId: z.string().nullable(),
    eori: z.string().nullable(),
    movementType: z.string().nullable(),
    movementId: z.string().nullable(),
    messageId: z.string().nullable(),
    status: z.enum(deadLetterStatuses),
    occurrences: z.number().int(),
    createdAt: isoTime,
    updatedAt: isoTime,
    replayedAt: isoTimeOrNull,
    replayCount: z.number().int(),
  })
  .loose()
  .meta({ id: 'DeadLetterSummary' });

const deadLetter = summary
  .extend({
    errorHistory: z.array(z.unknown()),
    payload: z.unknown().meta({ description: 'What is needed to replay it' }),
  })
  .meta({ id: 'DeadLetter' });

const replayProgress = z
  .object({
    _links: z.object({ self: link }),
    replayId: uuid,
    status: z.string(),
    requestedBy: z.string(),
    filter: z.unknown(),
    total: z.number().int(),
    replayed: z.number().int(),
    skipped: z.number().int(),
    failed: z.number().int(),
    pending: z.number().int(),
    createdAt: isoTime,
    finishedAt: isoTimeOrNull,
    problems: z.array(z.unknown()),
  })
  .loose()
  .meta({ id: 'Replay' });

const anyObject = (id: string, description: string) =>
  z.object({}).loose().meta({ id, description });

/** What a replay request answers: the replay started, or why there was nothing to replay. */
const replayStarted = z
  .object({
    replayId: uuid.nullable(),
    deadLetterId: uuid.optional(),
    total: z.number().int().optional(),
    status: z.string(),
    message: z.string().optional(),
    _links: z.object({ self: link }).loose().optional(),
  })
  .loose()
  .meta({ id: 'ReplayStarted' });

/** A bulk action's answer: the dry run, or what was done. */
const bulkAnswer = z
  .object({
    dryRun: z.boolean().optional(),
    action: z.enum(['replay', 'purge']),
    filter: z.record(z.string(), z.unknown()),
    count: z.number().int().optional().meta({ description: 'Dry run: letters matching' }),
    byKind: z.record(z.string(), z.number().int()).optional(),
    asOf: isoTime.optional(),
    confirmation: z.string().optional().meta({ description: 'Send it back to act' }),
    expiresAt: isoTime.optional(),
    purged: z.number().int().optional(),
    replayId: uuid.nullable().optional(),
    total: z.number().int().optional(),
    status: z.string().optional(),
  })
  .loose()
  .meta({ id: 'BulkAnswer' });

export function describeDeadLetters(registry: Registry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/dead-letters',
    tags: [tag],
    summary: 'List dead letters',
    description: 'Newest first, paged, without payload and error history.',
    security: apiKey,
    request: { query: deadLetterListQuery },
    responses: {
      200: ok(
        'A page of dead letters',
        z
          .object({
            _links: z.object({ self: link }),
            totalCount: z.number().int(),
            deadLetters: z.array(summary),
          })
          .meta({ id: 'DeadLetterList' }),
      ),
      ...authErrors(404),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/dead-letters/{deadLetterId}',
    tags: [tag],
    summary: 'One dead letter, with its payload and error history',
    security: apiKey,
    request: { params: deadLetterId },
    responses: { 200: ok('The dead letter', deadLetter), ...authErrors(404) },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/dead-letters/{deadLetterId}',
    tags: [tag],
    summary: 'Purge one dead letter (kept, marked purged)',
    security: apiKey,
    request: { params: deadLetterId },
    responses: {
      200: ok(
        'Purged (or already purged: purged false)',
        anyObject('PurgeOne', 'deadLetterId, status, previousStatus, purged'),
      ),
      ...authErrors(404),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/dead-letters/{deadLetterId}/replay',
    tags: [tag],
    summary: 'Replay one dead letter',
    security: apiKey,
    request: {
      params: deadLetterId,
      body: { required: false, content: { 'application/json': { schema: singleReplayBody } } },
    },
    responses: {
      200: ok('Nothing to replay (resolved or purged): replayId null, and why', replayStarted),
      202: ok('Replay queued (Location: the replay)', replayStarted),
      ...authErrors(404, 409, 503),
    },
  });
  for (const action of ['replay', 'purge'] as const)
    registry.registerPath({
      method: 'post',
      path: `/v1/dead-letters/${action}`,
      tags: [tag],
      summary: `${action === 'replay' ? 'Replay' : 'Purge'} dead letters by filter`,
      description:
        'Two steps: `{"dryRun": true, …filter}` answers the count, counts by kind and a ' +
        '`confirmation`; the same filter with that `confirmation` acts, provided the set did not ' +
        'change meanwhile (409 SET_CHANGED otherwise).',
      security: apiKey,
      request: {
        body: {
          required: true,
          content: {
            'application/json': { schema: bulkActionBody.meta({ id: 'DeadLetterFilter' }) },
          },
        },
      },
      responses: {
        200: ok('The dry run, or the action done', bulkAnswer),
        ...(action === 'replay' && { 202: ok('Replay queued', bulkAnswer) }),
        ...authErrors(409, 503),
      },
    });
  registry.registerPath({
    method: 'get',
    path: '/v1/replays/{replayId}',
    tags: [tag],
    summary: 'Progress of a replay',
    security: apiKey,
    request: { params: z.object({ replayId: uuidPath('replayId', 'Replay id') }) },
    responses: { 200: ok('The replay', replayProgress), ...authErrors(404) },
  });
}
