import { z } from 'zod';
import { apiKey, authErrors, isoTime, ok, type Registry } from '../openapi/common.js';
import { grnPath } from './request.js';

/** POST /v1/guarantees/{grn}/balance (routes.ts; the input is checked in request.ts). */
export function describeGuarantees(registry: Registry): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/guarantees/{grn}/balance',
    tags: ['Guarantees'],
    summary: "A guarantee's balance, from HMRC or from the last check within its minute",
    description:
      'HMRC allows one check per minute per trader and GRN; a repeat inside the minute with the ' +
      "same access code gets that check's result, anything else 429 with Retry-After.",
    security: apiKey,
    request: {
      params: z.object({
        grn: grnPath,
      }),
      headers: z.object({
        'X-Trader-EORI': z.string().meta({ description: 'Whose HMRC authority to use' }),
      }),
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z
              .object({ accessCode: z.string().regex(/^[A-Za-z0-9]{4}$/) })
              .meta({ id: 'BalanceRequest' }),
          },
        },
      },
    },
    responses: {
      200: ok(
        'The balance',
        z
          .object({
            grn: z.string(),
            balance: z.number(),
            currency: z.string().nullable(),
            checkedAt: isoTime,
            ageSeconds: z.number(),
            source: z.enum(['hmrc', 'cache']),
          })
          .loose()
          .meta({ id: 'Balance' }),
      ),
      ...authErrors(403, 404, 409, 502, 503, 504),
    },
  });
}
