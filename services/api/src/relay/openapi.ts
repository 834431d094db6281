import { z } from 'zod';
import { uuidPath } from '../http/schemas.js';
import { apiKey, authErrors, errors, ok, type Registry } from '../openapi/common.js';

/** The PPNS relay: consumers (consumers.ts) and the PPNS-compatible box (ppns-box.ts). */

const consumer = z
  .object({ id: z.string(), name: z.string(), boxId: z.string() })
  .loose()
  .meta({ id: 'RelayConsumer' });

const consumerInput = z
  .object({
    name: z.string().optional(),
    boxId: z.string().optional().meta({ format: 'uuid' }),
    callbackUrl: z.string().nullable().optional().meta({ description: 'https (push), or null' }),
    secret: z.string().optional(),
    eoris: z.array(z.string()).nullable().optional().meta({ description: 'null: every EORI' }),
    enabled: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'RelayConsumerInput', description: 'Checked field by field (relay/input.ts)' });

const consumerId = z.object({ consumerId: uuidPath('consumerId', 'Relay consumer id') });
const body = { required: true, content: { 'application/json': { schema: consumerInput } } };
const tags = ['PPNS relay'];

export function describeRelay(registry: Registry): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/relay/consumers',
    tags,
    summary: 'Add a relay consumer (operators)',
    security: apiKey,
    request: { body },
    responses: { 201: ok('Created', consumer), ...authErrors(403, 409) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/relay/consumers',
    tags,
    summary: 'Relay consumers',
    security: apiKey,
    responses: {
      200: ok(
        'Every consumer',
        z.object({ consumers: z.array(consumer) }).meta({ id: 'RelayConsumerList' }),
      ),
      ...authErrors(403),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/relay/consumers/{consumerId}',
    tags,
    summary: 'One relay consumer',
    security: apiKey,
    request: { params: consumerId },
    responses: { 200: ok('The consumer', consumer), ...authErrors(403, 404) },
  });
  registry.registerPath({
    method: 'patch',
    path: '/v1/relay/consumers/{consumerId}',
    tags,
    summary: 'Change a relay consumer',
    security: apiKey,
    request: { params: consumerId, body },
    responses: { 200: ok('The consumer', consumer), ...authErrors(403, 404, 409) },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/relay/consumers/{consumerId}',
    tags,
    summary: 'Remove a relay consumer',
    security: apiKey,
    request: { params: consumerId },
    responses: { 204: { description: 'Removed' }, ...authErrors(403, 404) },
  });
  const boxId = z.object({ boxId: uuidPath('boxId', "The consumer's box id") });
  const accept = z.object({
    Accept: z.literal('application/vnd.hmrc.1.0+json').meta({ description: "PPNS's media type" }),
  });
  registry.registerPath({
    method: 'get',
    path: '/misc/push-pull-notification/box/{boxId}/notifications',
    tags,
    summary: "Pull a box's notifications, as PPNS serves them",
    security: apiKey,
    request: {
      params: boxId,
      headers: accept,
      query: z.object({
        status: z.string().optional().meta({ description: 'PENDING, ACKNOWLEDGED or FAILED' }),
        fromDate: z.string().optional().meta({ format: 'date-time' }),
        toDate: z.string().optional().meta({ format: 'date-time' }),
      }),
    },
    responses: {
      200: ok('The notifications', z.array(z.object({}).loose())),
      ...errors(400, 401, 403, 404, 406),
    },
  });
  registry.registerPath({
    method: 'put',
    path: '/misc/push-pull-notification/box/{boxId}/notifications/acknowledge',
    tags,
    summary: 'Acknowledge notifications, as at PPNS',
    security: apiKey,
    request: {
      params: boxId,
      headers: accept,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({ notificationIds: z.array(z.string()) }).loose(),
          },
        },
      },
    },
    responses: { 204: { description: 'Acknowledged' }, ...errors(400, 401, 403, 404, 406) },
  });
}
