import { z } from 'zod';
import { errors, type Registry } from '../openapi/common.js';

/** The connect flow (routes.ts). */
export function describeOAuth(registry: Registry): void {
  registry.registerPath({
    method: 'get',
    path: '/oauth/hmrc/start',
    tags: ['Connections'],
    summary: "Start connecting a trader's EORI to HMRC",
    description:
      'Redirects to HMRC to sign in as the trader. An operator key may connect any EORI, a ' +
      'scoped key its own. Browsers send the key as the Basic password.',
    security: [{ apiKey: [] }, { operatorBasic: [] }],
    request: {
      query: z.object({
        eori: z.string().meta({ description: 'The EORI to connect', examples: ['GB123456789000'] }),
      }),
    },
    responses: {
      302: { description: "To HMRC's authorize page (sets the flow's binding cookie)" },
      ...errors(400, 401, 403, 429),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/oauth/hmrc/callback',
    tags: ['Connections'],
    summary: 'Where HMRC sends the browser back (no API key: the single-use state is the proof)',
    request: {
      query: z.object({
        code: z.string().optional(),
        state: z.string().optional(),
        error: z.string().optional().meta({ description: 'e.g. access_denied' }),
      }),
    },
    responses: {
      200: {
        description: 'Connected (HTML for browsers, JSON otherwise)',
        content: {
          'text/html': { schema: z.string() },
          'application/json': { schema: z.object({}).loose() },
        },
      },
      ...errors(400, 403, 502),
    },
  });
}
