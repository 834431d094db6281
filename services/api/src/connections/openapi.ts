import { z } from 'zod';
import { eoriValue } from '../http/schemas.js';
import {
  apiKey,
  authErrors,
  isoTime,
  isoTimeOrNull,
  link,
  ok,
  type Registry,
} from '../openapi/common.js';

/** Traders' connections to HMRC (routes.ts). */

const tag = 'Connections';

export const eoriPath = z.object({
  eori: eoriValue('eori must be an EORI such as GB123456789000'),
});

const resolution =
  'quarantined must be "release" (file the quarantined movements under the EORI HMRC reported) or "discard" (delete them)';

/** POST /v1/connections/{eori}/resolve */
export const resolveBody = z
  .object({
    quarantined: z.enum(['release', 'discard'], { error: resolution }).meta({
      description:
        'release: file the quarantined movements under the EORI HMRC reported; discard: delete them',
    }),
  })
  .meta({ id: 'ResolveConnection' });

const connection = z
  .object({
    eori: z.string(),
    state: z.string().meta({ description: 'connected, reconsent-required, mismatched, …' }),
    verification: z.string(),
    vouched: z.boolean(),
    mayAct: z.boolean(),
    verifiedAt: isoTimeOrNull,
    connectedAt: isoTime,
    connectedBy: z.string().nullable(),
    consentExpiresAt: isoTime.meta({ description: "HMRC's 18 months from consent" }),
    mismatch: z.object({}).loose().nullable(),
    quarantinedMovements: z.number().int().optional().meta({ description: 'Operators only' }),
    fix: z.string().nullable().meta({ description: 'What to do, when something is wrong' }),
    _links: z.object({ self: link }),
  })
  .loose()
  .meta({ id: 'Connection' });

export function describeConnections(registry: Registry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/connections',
    tags: [tag],
    summary: "Traders' connections to HMRC, with consent expiry and what to fix",
    security: apiKey,
    responses: {
      200: ok(
        'The connections the key may see',
        z.object({ connections: z.array(connection) }).meta({ id: 'ConnectionList' }),
      ),
      ...authErrors(),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/connections/{eori}',
    tags: [tag],
    summary: "One EORI's connection",
    security: apiKey,
    request: { params: eoriPath },
    responses: { 200: ok('The connection', connection), ...authErrors(404) },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/connections/{eori}/resolve',
    tags: [tag],
    summary: 'Resolve a mismatched connection (operators)',
    security: apiKey,
    request: {
      params: eoriPath,
      body: { required: true, content: { 'application/json': { schema: resolveBody } } },
    },
    responses: {
      200: ok(
        'Resolved: the connection removed',
        z
          .object({
            eori: z.string(),
            disconnected: z.unknown(),
            released: z.unknown(),
            discarded: z.unknown(),
            message: z.string(),
          })
          .loose()
          .meta({ id: 'ResolvedConnection' }),
      ),
      ...authErrors(403, 409),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/connections/{eori}/confirm',
    tags: [tag],
    summary: 'Vouch for an unverified connection (operators)',
    security: apiKey,
    request: { params: eoriPath },
    responses: { 200: ok('The connection, now vouched for', connection), ...authErrors(403, 409) },
  });
}
