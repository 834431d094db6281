import { z } from 'zod';
import { eoriValue, enumQuery } from '../http/schemas.js';
import {
  apiKey,
  authErrors,
  isoTime,
  isoTimeOrNull,
  link,
  ok,
  paging,
  type Registry,
} from '../openapi/common.js';
import { tokenStates } from './present.js';

/** Traders (routes.ts): connection, consent, token state, last HMRC call, counts. */

const trader = z
  .object({
    eori: z.string(),
    tokenState: z.enum(tokenStates),
    needsAction: z.boolean(),
    attention: z.array(
      z
        .object({
          severity: z.enum(['action', 'warning']),
          problem: z.string(),
          fix: z.string(),
          href: z.string().nullable(),
        })
        .loose(),
    ),
    connectedAt: isoTimeOrNull,
    consent: z
      .object({ expiresAt: isoTime, daysLeft: z.number().nullable(), expiringSoon: z.boolean() })
      .loose()
      .nullable(),
    lastHmrcCall: z
      .object({ at: isoTime, what: z.string(), outcome: z.string(), detail: z.unknown() })
      .loose()
      .nullable(),
  })
  .loose()
  .meta({ id: 'Trader', description: 'Connection, consent expiry, token state, last HMRC call' });

export function describeTraders(registry: Registry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/traders',
    tags: ['Connections'],
    summary: 'Traders: consent expiry, token state, last HMRC call, what needs action',
    security: apiKey,
    request: {
      query: z.object({
        tokenState: enumQuery('tokenState', tokenStates, 'Only traders in this state').optional(),
        needsAction: z
          .enum(['true', 'false'])
          .optional()
          .meta({ description: 'Only traders that need (or do not need) action' }),
        ...paging,
      }),
    },
    responses: {
      200: ok(
        'A page of traders',
        z
          .object({
            _links: z.object({ self: link }).loose().optional(),
            totalCount: z.number().int().optional(),
            traders: z.array(trader),
          })
          .loose()
          .meta({ id: 'TraderList' }),
      ),
      ...authErrors(404),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/traders/{eori}',
    tags: ['Connections'],
    summary: 'One trader',
    security: apiKey,
    request: {
      params: z.object({ eori: eoriValue('eori must be an EORI such as GB123456789000') }),
    },
    responses: { 200: ok('The trader', trader), ...authErrors(404) },
  });
}
