import { z } from 'zod';
import { dateTimeQuery, hmrcIdPath, textQuery, uuidQuery } from '../http/schemas.js';
import { apiKey, authErrors, isoTime, link, ok, paging, type Registry } from '../openapi/common.js';

/** The HMRC-compatible movement reads and GET /v1/messages, as routes.ts serves them. */

const hmrcTag = 'HMRC-compatible';

/** HMRC's movement, field for field (present.ts hmrcMovementJson): null where HMRC writes null. */
const hmrcMovement = z
  .object({
    _links: z.object({ self: link, messages: link }).loose(),
    id: z.string(),
    movementReferenceNumber: z.string().nullable(),
    localReferenceNumber: z.string().nullable().meta({ description: 'null on arrivals' }),
    created: isoTime,
    updated: isoTime,
    enrollmentEORINumber: z.string().nullable(),
    movementEORINumber: z.string().nullable(),
  })
  .loose()
  .meta({ id: 'HmrcMovement', description: "HMRC's fields only, as HMRC writes them" });

/** ctc-hub's view (/v1/{departures|arrivals}/{id}): HMRC's fields plus ours. */
const movement = hmrcMovement
  .extend({
    boxId: z.string().nullable(),
    requestId: z.string().nullable(),
    status: z.string().nullable().meta({ description: "Our reading of the movement's state" }),
  })
  .meta({ id: 'Movement' });

const hmrcMessageSummary = z
  .object({
    _links: z.object({ self: link }).loose(),
    id: z.string(),
    departureId: z.string().optional(),
    arrivalId: z.string().optional(),
    received: isoTime,
    type: z.string().nullable().optional().meta({ description: 'IE code; absent while Pending' }),
    status: z.string().nullable(),
  })
  .loose()
  .meta({ id: 'HmrcMessageSummary' });

const messageSummary = hmrcMessageSummary
  .extend({ boxId: z.string().nullable(), requestId: z.string().nullable() })
  .meta({ id: 'MessageSummary' });

const hmrcMessage = hmrcMessageSummary
  .extend({
    body: z.unknown().optional().meta({
      description:
        '+json-xml: the NCTS XML as a string; +json: the message converted to JSON as HMRC converts it',
    }),
  })
  .meta({ id: 'HmrcMessage' });

const listOf = (id: string, item: z.ZodType) =>
  z
    .object({
      _links: z.object({ self: link }).loose(),
      totalCount: z.number().int(),
      messages: z.array(item),
    })
    .loose()
    .meta({ id });

const messageList = listOf('MessageList', messageSummary);
const hmrcMessageList = listOf('HmrcMessageList', hmrcMessageSummary);

const hmrcAccept = (values: string[]) =>
  z.object({
    Accept: z.enum(values as [string, ...string[]]).meta({
      description:
        "HMRC's media types, as HMRC requires them (any other is HMRC's 406); 3.0 in place of 2.1 " +
        'for API 3.0',
    }),
  });
const jsonAccept = hmrcAccept(['application/vnd.hmrc.2.1+json', 'application/vnd.hmrc.3.0+json']);
const messageAccept = hmrcAccept([
  'application/vnd.hmrc.2.1+json-xml',
  'application/vnd.hmrc.2.1+json',
  'application/vnd.hmrc.3.0+json-xml',
  'application/vnd.hmrc.3.0+json',
]);
const bodyAccept = hmrcAccept([
  'application/vnd.hmrc.2.1+xml',
  'application/vnd.hmrc.2.1+json',
  'application/vnd.hmrc.3.0+xml',
  'application/vnd.hmrc.3.0+json',
]);

/** Query parameters of the HMRC list routes (bound as HMRC binds them: hmrc-params.ts). */
const hmrcTimeQuery = (name: string, description: string) =>
  z.string().meta({ description, format: 'date-time', examples: ['2026-12-01T09:00:00Z'] });
const hmrcLongQuery = (description: string) =>
  z.string().meta({ description, type: 'integer', minimum: 1 });
const hmrcPagingQuery = {
  page: hmrcLongQuery('Page number, from 1 (default 1)').optional(),
  count: hmrcLongQuery('Items per page (default 25; above 500 read as 500)').optional(),
};

export const movementQuery = (movementType: 'departure' | 'arrival') =>
  z.object({
    updatedSince: hmrcTimeQuery('updatedSince', 'Movements updated at or after').optional(),
    movementEORI: z.string().optional().meta({ description: 'EORI of the movement' }),
    movementReferenceNumber: z.string().optional().meta({ description: 'MRN' }),
    ...hmrcPagingQuery,
    receivedUntil: hmrcTimeQuery('receivedUntil', 'Movements updated at or before').optional(),
    ...(movementType === 'departure' && {
      localReferenceNumber: z.string().optional().meta({ description: 'LRN' }),
    }),
  });

const xmlBody = {
  description: 'The stored XML, byte for byte (ETag: its SHA-256; If-None-Match gives 304)',
  content: { 'application/xml': { schema: z.string() } },
};

export function describeMovements(registry: Registry): void {
  for (const movementType of ['departure', 'arrival'] as const) {
    const plural = `${movementType}s`;
    const a = movementType === 'arrival' ? 'an' : 'a';
    const idName = movementType === 'departure' ? 'departureId' : 'arrivalId';
    const base = `/customs/transits/movements/${plural}`;
    const hub = `/v1/${plural}/{${idName}}`;
    const hmrcId = {
      [idName]: z
        .string()
        .regex(/^[0-9a-f]{16}$/)
        .meta({ description: `The ${movementType}'s HMRC movement id (16 hex characters)` }),
    };
    const hubId = {
      [idName]: hmrcIdPath(
        idName,
        `The ${movementType}'s HMRC movement id (or the decimal id of an API 1.0 movement)`,
      ),
    };
    const list = z
      .object({
        _links: z.object({ self: link }).loose(),
        totalCount: z.number().int(),
        [plural]: z.array(hmrcMovement),
      })
      .loose()
      .meta({ id: movementType === 'departure' ? 'DepartureList' : 'ArrivalList' });
    const hmrcErrors = authErrors(404, 406);

    registry.registerPath({
      method: 'get',
      path: base,
      tags: [hmrcTag],
      summary: `List ${plural}`,
      description: 'Newest first, paged; answered as HMRC answers, from our database.',
      security: apiKey,
      request: { query: movementQuery(movementType), headers: jsonAccept },
      responses: { 200: ok(`A page of ${plural}`, list), ...hmrcErrors },
    });
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}`,
      tags: [hmrcTag],
      summary: `One ${movementType}`,
      security: apiKey,
      request: { params: z.object(hmrcId), headers: jsonAccept },
      responses: { 200: ok(`The ${movementType}`, hmrcMovement), ...hmrcErrors },
    });
    const timeWindow = {
      receivedSince: hmrcTimeQuery('receivedSince', 'Received at or after').optional(),
      ...hmrcPagingQuery,
      receivedUntil: hmrcTimeQuery('receivedUntil', 'Received at or before').optional(),
    };
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}/messages`,
      tags: [hmrcTag],
      summary: `Messages of ${a} ${movementType}`,
      description: 'Newest first, paged, without bodies.',
      security: apiKey,
      request: { params: z.object(hmrcId), query: z.object(timeWindow), headers: jsonAccept },
      responses: { 200: ok('A page of messages', hmrcMessageList), ...hmrcErrors },
    });
    const messageParams = z.object({
      ...hmrcId,
      messageId: z
        .string()
        .regex(/^[0-9a-f]{16}$/)
        .meta({ description: 'The message id' }),
    });
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}/messages/{messageId}`,
      tags: [hmrcTag],
      summary: `One message of ${a} ${movementType}, with its body`,
      description:
        '`+json-xml`: the XML as a string; `+json`: converted to JSON as HMRC converts it.',
      security: apiKey,
      request: { params: messageParams, headers: messageAccept },
      responses: { 200: ok('The message', hmrcMessage), ...hmrcErrors },
    });
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}/messages/{messageId}/body`,
      tags: [hmrcTag],
      summary: `The body of a message of ${a} ${movementType}`,
      description: '`+xml`: the stored XML, byte for byte; `+json`: converted to JSON.',
      security: apiKey,
      request: { params: messageParams, headers: bodyAccept },
      responses: {
        200: {
          description: 'The body',
          content: {
            'application/xml': { schema: z.string() },
            'application/json': { schema: z.unknown() },
          },
        },
        304: { description: 'Not modified (If-None-Match)' },
        ...hmrcErrors,
      },
    });

    // ctc-hub's own views (hub-routes.ts): any Accept, our fields and error shapes.
    registry.registerPath({
      method: 'get',
      path: hub,
      tags: ['Messages'],
      summary: `ctc-hub's view of ${a} ${movementType}: HMRC's fields plus box, request id, status`,
      security: apiKey,
      request: { params: z.object(hubId) },
      responses: { 200: ok(`The ${movementType}`, movement), ...authErrors(404) },
    });
    registry.registerPath({
      method: 'get',
      path: `${hub}/messages`,
      tags: ['Messages'],
      summary: `Messages of ${a} ${movementType}, with box and request id`,
      security: apiKey,
      request: {
        params: z.object(hubId),
        query: z.object({
          receivedSince: dateTimeQuery('receivedSince', 'Received at or after').optional(),
          receivedUntil: dateTimeQuery('receivedUntil', 'Received at or before').optional(),
          ...paging,
        }),
      },
      responses: { 200: ok('A page of messages', messageList), ...authErrors(404) },
    });
    registry.registerPath({
      method: 'get',
      path: `${hub}/messages/{messageId}/body`,
      tags: ['Messages'],
      summary: `The stored XML of a message of ${a} ${movementType}`,
      security: apiKey,
      request: {
        params: z.object({ ...hubId, messageId: hmrcIdPath('messageId', 'The message id') }),
      },
      responses: { 200: xmlBody, 304: { description: 'Not modified' }, ...authErrors(404) },
    });
  }

  registry.registerPath({
    method: 'get',
    path: '/v1/messages',
    tags: ['Messages'],
    summary: 'Messages across movements, by PPNS box, request id or message type',
    description: 'At least one of boxId, requestId, messageType. Newest first, paged.',
    security: apiKey,
    request: { query: linkedMessageQuery },
    responses: { 200: ok('A page of messages', messageList), ...authErrors(404) },
  });
}

export const linkedMessageQuery = z.object({
  boxId: uuidQuery('boxId', 'PPNS box the message was pushed to').optional(),
  requestId: textQuery('requestId', 'Request id (movement path) of the messages').optional(),
  messageType: z
    .string()
    .regex(/^IE\d{3}$/i, 'The messageType parameter must be an IE code such as IE028')
    .optional()
    .meta({ description: 'An IE code such as IE028' }),
  movementType: z
    .enum(['departure', 'arrival'], {
      error: 'The movementType parameter must be departure or arrival',
    })
    .optional(),
  receivedSince: dateTimeQuery('receivedSince', 'Received at or after').optional(),
  receivedUntil: dateTimeQuery('receivedUntil', 'Received at or before').optional(),
  ...paging,
});
