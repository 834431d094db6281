import { z } from 'zod';
import { dateTimeQuery, hmrcIdPath, textQuery, uuidQuery } from '../http/schemas.js';
import { apiKey, authErrors, isoTime, link, ok, paging, type Registry } from '../openapi/common.js';

/** The HMRC-compatible movement reads and GET /v1/messages, as routes.ts serves them. */

const hmrcTag = 'HMRC-compatible';

const movement = z
  .object({
    _links: z.object({ self: link, messages: link }).loose(),
    id: z.string(),
    movementReferenceNumber: z.string().optional(),
    localReferenceNumber: z.string().optional().meta({ description: 'Departures only' }),
    created: isoTime,
    updated: isoTime,
    enrollmentEORINumber: z.string().optional(),
    movementEORINumber: z.string().optional(),
    boxId: z.string().nullable(),
    requestId: z.string().nullable(),
    status: z.string().nullable().meta({ description: "Our reading of the movement's state" }),
  })
  .loose()
  .meta({ id: 'Movement' });

const messageSummary = z
  .object({
    _links: z.object({ self: link }).loose(),
    id: z.string(),
    departureId: z.string().optional(),
    arrivalId: z.string().optional(),
    received: isoTime,
    type: z.string().optional().meta({ description: 'IE code; absent while Pending' }),
    status: z.string().nullable(),
    boxId: z.string().nullable(),
    requestId: z.string().nullable(),
  })
  .loose()
  .meta({ id: 'MessageSummary' });

const message = messageSummary
  .extend({ body: z.string().optional().meta({ description: 'The NCTS XML, as a string' }) })
  .meta({ id: 'Message' });

const messageList = z
  .object({
    _links: z.object({ self: link }).loose(),
    totalCount: z.number().int(),
    messages: z.array(messageSummary),
  })
  .meta({ id: 'MessageList' });

export const movementQuery = (movementType: 'departure' | 'arrival') =>
  z.object({
    updatedSince: dateTimeQuery('updatedSince', 'Movements updated at or after').optional(),
    receivedUntil: dateTimeQuery('receivedUntil', 'Movements updated at or before').optional(),
    movementEORI: textQuery('movementEORI', 'EORI of the movement').optional(),
    movementReferenceNumber: textQuery('movementReferenceNumber', 'MRN').optional(),
    ...(movementType === 'departure' && {
      localReferenceNumber: textQuery('localReferenceNumber', 'LRN').optional(),
    }),
    ...paging,
  });

export function describeMovements(registry: Registry): void {
  for (const movementType of ['departure', 'arrival'] as const) {
    const plural = `${movementType}s`;
    const a = movementType === 'arrival' ? 'an' : 'a';
    const idName = movementType === 'departure' ? 'departureId' : 'arrivalId';
    const base = `/customs/transits/movements/${plural}`;
    const id = { [idName]: hmrcIdPath(idName, `The ${movementType}'s HMRC movement id`) };
    const list = z
      .object({
        _links: z.object({ self: link }).loose(),
        totalCount: z.number().int(),
        [plural]: z.array(movement),
      })
      .meta({ id: movementType === 'departure' ? 'DepartureList' : 'ArrivalList' });

    registry.registerPath({
      method: 'get',
      path: base,
      tags: [hmrcTag],
      summary: `List ${plural}`,
      description: 'Newest first, paged; as HMRC lists them, from our database.',
      security: apiKey,
      request: { query: movementQuery(movementType) },
      responses: { 200: ok(`A page of ${plural}`, list), ...authErrors(404) },
    });
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}`,
      tags: [hmrcTag],
      summary: `One ${movementType}`,
      security: apiKey,
      request: { params: z.object(id) },
      responses: { 200: ok(`The ${movementType}`, movement), ...authErrors(404) },
    });
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}/messages`,
      tags: [hmrcTag],
      summary: `Messages of ${a} ${movementType}`,
      description: 'Newest first, paged, without bodies.',
      security: apiKey,
      request: {
        params: z.object(id),
        query: z.object({
          receivedSince: dateTimeQuery('receivedSince', 'Received at or after').optional(),
          receivedUntil: dateTimeQuery('receivedUntil', 'Received at or before').optional(),
          ...paging,
        }),
      },
      responses: { 200: ok('A page of messages', messageList), ...authErrors(404) },
    });
    const messageParams = z.object({
      ...id,
      messageId: hmrcIdPath('messageId', 'The message id'),
    });
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}/messages/{messageId}`,
      tags: [hmrcTag],
      summary: `One message of ${a} ${movementType}, its XML body as a string`,
      description:
        "HMRC's `application/vnd.hmrc.2.1+json-xml` form, whatever the Accept header; asking " +
        'only for the converted JSON form is 406 (messages are never converted).',
      security: apiKey,
      request: { params: messageParams },
      responses: { 200: ok('The message', message), ...authErrors(404, 406) },
    });
    registry.registerPath({
      method: 'get',
      path: `${base}/{${idName}}/messages/{messageId}/body`,
      tags: [hmrcTag],
      summary: `The XML of a message of ${a} ${movementType}, byte for byte`,
      description: 'With an ETag (SHA-256 of the bytes); If-None-Match gives 304.',
      security: apiKey,
      request: { params: messageParams },
      responses: {
        200: {
          description: 'The stored XML',
          content: { 'application/xml': { schema: z.string() } },
        },
        304: { description: 'Not modified (If-None-Match)' },
        ...authErrors(404, 406),
      },
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
