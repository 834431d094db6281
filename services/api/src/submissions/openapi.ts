import type { SubmissionStatus } from '@ctc-hub/db';
import { z } from 'zod';
import { eoriValue, enumQuery, hmrcIdPath, textQuery, uuidPath } from '../http/schemas.js';
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

/** Declarations sent through us (routes.ts), and the submissions that track them. */

const tag = 'Submissions';

export const submissionStatuses = [
  'queued',
  'sending',
  'accepted',
  'rejected',
  'failed',
] as const satisfies readonly SubmissionStatus[];

export const submissionListQuery = z.object({
  status: enumQuery('status', submissionStatuses, 'Where the submission stands').optional(),
  eori: eoriValue('The eori parameter must be an EORI').optional(),
  lrn: textQuery('lrn', 'Local reference number').optional(),
  messageType: textQuery('messageType', 'IE code, e.g. IE015').optional(),
  ...paging,
});

const submissionSummary = z
  .object({
    submissionId: uuid,
    status: z.enum(submissionStatuses),
    eori: z.string(),
    movementType: z.enum(['departure', 'arrival']),
    messageType: z.string(),
    localReferenceNumber: z.string().nullable(),
    movementReferenceNumber: z.string().nullable(),
    movementId: z.string().nullable(),
    messageId: z.string().nullable(),
    attemptCount: z.number().int(),
    createdAt: isoTime,
    updatedAt: isoTime,
    completedAt: isoTimeOrNull,
    _links: z.object({ self: link, movement: link.optional() }).loose(),
  })
  .loose()
  .meta({ id: 'SubmissionSummary' });

const submission = submissionSummary
  .extend({
    messageIdentification: z.string().nullable(),
    idempotencyKey: z.string().nullable(),
    route: z.string(),
    sizeBytes: z.number().int(),
    apiVersion: z.string(),
    boxId: z.string().nullable(),
    requestId: z.string().nullable(),
    attempts: z
      .array(
        z
          .object({
            attempt: z.number().int(),
            at: isoTime,
            durationMs: z.number(),
            httpStatus: z.number().int().nullable().meta({ description: "HMRC's HTTP status" }),
            outcome: z.string().meta({
              description:
                'accepted, rejected, retry, unknown, rate-limited, found-at-hmrc, not-at-hmrc, uploaded',
            }),
            error: z.string().nullable(),
          })
          .loose()
          .meta({ id: 'SubmissionAttempt' }),
      )
      .meta({ description: 'Every attempt to send it to HMRC' }),
    hmrcResponse: z.unknown().meta({ description: "HMRC's answer, when it gave one" }),
    movement: z
      .object({
        type: z.string(),
        id: z.string(),
        status: z.string().nullable(),
        movementReferenceNumber: z.string().nullable(),
        boxId: z.string().nullable(),
        requestId: z.string().nullable(),
        _links: z.object({ self: link, messages: link }).loose(),
      })
      .loose()
      .nullable(),
    messages: z.array(
      z
        .object({
          id: z.string(),
          type: z.string().nullable(),
          direction: z.string(),
          received: isoTime,
          status: z.string().nullable(),
          _links: z.object({ self: link }).loose(),
        })
        .loose(),
    ),
  })
  .meta({ id: 'Submission' });

const accepted = z
  .object({
    submissionId: uuid,
    status: z.enum(submissionStatuses),
    _links: z.object({ self: link }).loose(),
  })
  .meta({ id: 'SubmissionAccepted' });

const xmlBody = {
  required: true,
  description: 'The NCTS message as XML (application/xml), validated before anything is queued',
  content: { 'application/xml': { schema: z.string() } },
};

const headers = z.object({
  'Idempotency-Key': z
    .string()
    .optional()
    .meta({ description: '1 to 255 printable ASCII characters; a repeat returns the original' }),
  'X-Trader-EORI': z
    .string()
    .optional()
    .meta({ description: "The trader's EORI, when the message does not make it clear" }),
});

const submitResponses = {
  200: ok('The same declaration was sent before: the existing submission', submission),
  202: ok('Accepted; queued for HMRC (Location: the submission)', accepted),
  ...authErrors(403, 404, 409, 413, 415, 503),
};

export function describeSubmissions(registry: Registry): void {
  const sends: [string, string, string, z.ZodObject | undefined, 'post' | 'put'][] = [
    ['/v1/departures', 'Declare a departure (IE015)', 'departure', undefined, 'post'],
    [
      '/v1/departures/{departureId}/messages',
      'Send a message for a departure (IE013, IE014, IE170)',
      'departure',
      z.object({ departureId: hmrcIdPath('departureId', 'HMRC departure id') }),
      'post',
    ],
    ['/v1/arrivals', 'Notify an arrival (IE007)', 'arrival', undefined, 'post'],
    [
      '/v1/arrivals/{arrivalId}/messages',
      'Send a message for an arrival (IE044)',
      'arrival',
      z.object({ arrivalId: hmrcIdPath('arrivalId', 'HMRC arrival id') }),
      'post',
    ],
    [
      '/v1/arrivals/{arrivalId}',
      'Resubmit an arrival notification (CTC API 1.0 only; 405 otherwise)',
      'arrival',
      z.object({ arrivalId: hmrcIdPath('arrivalId', 'HMRC arrival id') }),
      'put',
    ],
  ];
  for (const [path, summary, , params, method] of sends)
    registry.registerPath({
      method,
      path,
      tags: [tag],
      summary,
      security: apiKey,
      request: { ...(params && { params }), headers, body: xmlBody },
      responses: method === 'put' ? { ...submitResponses, ...authErrors(405) } : submitResponses,
    });

  // HMRC-compatible sends: the same declarations, answered as HMRC answers (HMRC's Accept, its
  // 202 body and error shapes).
  const hmrcBase = '/customs/transits/movements';
  const hmrcSends: [string, string, z.ZodObject | undefined, 'post' | 'put'][] = [
    [`${hmrcBase}/departures`, 'Declare a departure (IE015), as at HMRC', undefined, 'post'],
    [
      `${hmrcBase}/departures/{departureId}/messages`,
      'Send a message for a departure, as at HMRC',
      z.object({ departureId: hmrcIdPath('departureId', 'HMRC departure id') }),
      'post',
    ],
    [`${hmrcBase}/arrivals`, 'Notify an arrival (IE007), as at HMRC', undefined, 'post'],
    [
      `${hmrcBase}/arrivals/{arrivalId}/messages`,
      'Send a message for an arrival, as at HMRC',
      z.object({ arrivalId: hmrcIdPath('arrivalId', 'HMRC arrival id') }),
      'post',
    ],
    [
      `${hmrcBase}/arrivals/{arrivalId}`,
      'Resubmit an arrival notification, as at HMRC (API 1.0)',
      z.object({ arrivalId: hmrcIdPath('arrivalId', 'HMRC arrival id') }),
      'put',
    ],
  ];
  for (const [path, summary, params, method] of hmrcSends)
    registry.registerPath({
      method,
      path,
      tags: ['HMRC-compatible'],
      summary,
      description: "HMRC's Accept header is required; answers and errors in HMRC's shapes.",
      security: apiKey,
      request: { ...(params && { params }), headers, body: xmlBody },
      responses: {
        202: ok('Accepted, as HMRC answers', z.object({}).loose()),
        ...authErrors(403, 404, 405, 406, 409, 413, 415, 503),
      },
    });
  registry.registerPath({
    method: 'post',
    path: '/uploads/{submissionId}',
    tags: ['HMRC-compatible'],
    summary: 'Upload the file of a large message (the upload link our 202 gave)',
    request: {
      params: z.object({ submissionId: uuidPath('submissionId', 'Submission id') }),
      body: {
        required: true,
        content: { 'multipart/form-data': { schema: z.object({}).loose() } },
      },
    },
    responses: {
      200: { description: 'Received' },
      204: { description: 'Received' },
      303: { description: 'Received: redirected as the upload form asked' },
      ...authErrors(403, 404, 409, 413, 415),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/submissions',
    tags: [tag],
    summary: 'List submissions',
    security: apiKey,
    request: { query: submissionListQuery },
    responses: {
      200: ok(
        'A page of submissions',
        z
          .object({
            _links: z.object({ self: link }).loose(),
            totalCount: z.number().int(),
            submissions: z.array(submissionSummary),
          })
          .meta({ id: 'SubmissionList' }),
      ),
      ...authErrors(404),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/submissions/{submissionId}',
    tags: [tag],
    summary: "One submission: its attempts, HMRC's answer, the movement and NCTS's messages",
    security: apiKey,
    request: { params: z.object({ submissionId: uuidPath('submissionId', 'Submission id') }) },
    responses: { 200: ok('The submission', submission), ...authErrors(404) },
  });
}
