import { randomUUID } from 'node:crypto';
import type { MovementType } from '@ctc-hub/db';
import { smallMessageMaxBytes, v1MessageMaxBytes } from '@ctc-hub/hmrc-client';
import { noopMeter } from '@ctc-hub/telemetry';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { ApiDeps } from '../deps.js';
import { principalOf } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { movementIdField, movementsPath } from '../http/hateoas.js';
import { hmrcError, hmrcTexts, noEnrolment, sendHmrcError } from '../http/hmrc-errors.js';
import { hmrcIdParam } from '../http/params.js';
import { hmrcPathId } from '../movements/hmrc-params.js';
import { idempotencyKeyPattern, recordSubmission } from '../submissions/record.js';
import {
  validateSubmission,
  type SubmissionEndpoint,
  type ValidSubmission,
} from '../submissions/validate.js';
import { writeVersion, type WriteVersion } from './accept.js';
import { actingEori } from './enrolment.js';
import { jsonToXml } from './json-body.js';
import { hmrcRefusal } from './refusals.js';
import { earlierSameMessage } from './repeat.js';
import { answerOf, gatewayTimeout, waitForOutcome } from './outcome.js';
import { uploadRequestFor, uploadSecret } from './upload.js';

/**
 * HMRC's write paths on our API (issue 12 §1), so software written for HMRC's CTC Traders API
 * works with only the base URL and bearer token changed:
 *   POST /customs/transits/movements/departures                     IE015
 *   POST /customs/transits/movements/departures/{departureId}/messages  IE013, IE014, IE170
 *   POST /customs/transits/movements/arrivals                       IE007
 *   POST /customs/transits/movements/arrivals/{arrivalId}/messages      IE044
 *   PUT  /customs/transits/movements/arrivals/{arrivalId}           IE007 again (API 1.0 only)
 * Checked in HMRC's order with HMRC's answers (Content-Type 415, Accept 406, size 413, then the
 * /v1 validation: 400 BAD_REQUEST / SCHEMA_VALIDATION / BUSINESS_VALIDATION_ERROR), then recorded
 * in the same outbox as /v1 declarations (submissions/record.ts), sent by the worker within the
 * shared HMRC budget with its retries and check-before-resend. The request waits up to
 * HMRC_COMPAT_WAIT_MS for HMRC's answer and returns it as HMRC sent it (status, content type,
 * body). Past the bound: 504 GATEWAY_TIMEOUT; the same request again (same body from the same
 * trader within 24 h, or the same Idempotency-Key) finds the same submission and returns HMRC's
 * answer once known, never sending a second declaration.
 *
 * The large-message route (no Content-Type, an empty body; reference §3.4): the worker opens it
 * at HMRC and the client gets HMRC's 202 with HMRC's ids, its uploadRequest replaced by the hub's
 * own form (upload.ts), where the file is validated before the worker uploads it to HMRC.
 *
 * JSON bodies (Content-Type: application/json) are converted to XML as HMRC converts them
 * (json-body.ts), then validated and sent as XML.
 */
export function hmrcWriteRoutes(deps: ApiDeps): Router {
  const router = Router();
  const meter = deps.telemetry?.meter ?? noopMeter;
  const answers = meter.createCounter('ctc_api_hmrc_writes', {
    description:
      'Writes on HMRC’s own paths answered, by HTTP status: HMRC’s (passed on) or ours (refusals, 504 past HMRC_COMPAT_WAIT_MS)',
  });
  router.use(
    [movementsPath('departure'), movementsPath('arrival')],
    (request: Request, response: Response, next: NextFunction) => {
      if (request.method === 'POST' || request.method === 'PUT')
        response.on('finish', () => answers.add(1, { status: String(response.statusCode) }));
      next();
    },
  );
  const hubVersion = deps.config.CTC_API_VERSION;
  // HMRC refuses bodies over its small-message limit with 413 (contentSizeIsLessThanLimit); API
  // 1.0 had 4.9 MB and no large route.
  const maxBytes = hubVersion === '1.0' ? v1MessageMaxBytes : smallMessageMaxBytes;
  const readBody = express.raw({ type: () => true, limit: maxBytes });

  /** Content-Type and Accept before the body is read, as HMRC's action chain does. */
  const preflight = (request: Request, response: Response, next: NextFunction) => {
    try {
      const route = contentRoute(request.headers['content-type'], hubVersion);
      response.locals.large = route === 'large';
      response.locals.json = route === 'json';
      response.locals.apiVersion = writeVersion(request.headers.accept, hubVersion);
      next();
    } catch (error) {
      next(error);
    }
  };

  const submit =
    (movementType: MovementType, endpoint: SubmissionEndpoint) =>
    async (request: Request, response: Response, next: NextFunction): Promise<void> => {
      try {
        await handle(deps, request, response, movementType, endpoint, maxBytes);
      } catch (error) {
        next(error);
      }
    };

  for (const movementType of ['departure', 'arrival'] as const) {
    const base = movementsPath(movementType);
    const created: SubmissionEndpoint = {
      kind: movementType === 'departure' ? 'new-departure' : 'new-arrival',
    };
    const followUp: SubmissionEndpoint = {
      kind: movementType === 'departure' ? 'departure-message' : 'arrival-message',
    };
    router.post(base, preflight, readBody, submit(movementType, created));
    router.post(
      `${base}/:${movementIdField(movementType)}/messages`,
      preflight,
      readBody,
      submit(movementType, followUp),
    );
  }
  // API 1.0: an arrival notification sent again for an existing arrival (after a rejection).
  router.put(
    `${movementsPath('arrival')}/:arrivalId`,
    (_request, _response, next) => {
      next(
        hubVersion === '1.0'
          ? undefined
          : new ApiError(405, 'METHOD_NOT_ALLOWED', 'PUT exists only in CTC API 1.0'),
      );
    },
    preflight,
    readBody,
    submit('arrival', { kind: 'new-arrival' }),
  );

  // Errors of these routes in HMRC's shape for the request's version (1.0: {statusCode, message}).
  router.use(
    [`${movementsPath('departure')}`, `${movementsPath('arrival')}`],
    (error: unknown, request: Request, response: Response, next: NextFunction) => {
      if (request.method !== 'POST' && request.method !== 'PUT') return next(error);
      const apiError = asHmrcError(error);
      if (apiError === undefined) return next(error);
      sendHmrcError(response, apiError, response.locals.apiVersion ?? hubVersion);
    },
  );
  return router;
}

async function handle(
  deps: ApiDeps,
  request: Request,
  response: Response,
  movementType: MovementType,
  endpoint: SubmissionEndpoint,
  maxBytes: number,
): Promise<void> {
  const apiVersion = response.locals.apiVersion as WriteVersion;
  const large = response.locals.large === true;
  const json = response.locals.json === true;
  const principal = principalOf(request);
  const movementId =
    endpoint.kind === 'departure-message' ||
    endpoint.kind === 'arrival-message' ||
    request.method === 'PUT'
      ? // HMRC's binder and its message (movementId: 16 hex); API 1.0's ids were integers.
        hubVersion1(deps)
        ? hmrcIdParam(request, movementIdField(movementType))
        : hmrcPathId(request, movementIdField(movementType), 'movementId')
      : null;
  // HMRC ignores the body of the large-message route's POST; so do we.
  const received = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const xml = large ? Buffer.alloc(0) : json ? xmlOfJson(received) : received;
  let message: ValidSubmission | undefined;
  if (!large) {
    const validation = await validateSubmission({
      xml,
      contentType: json ? 'application/xml' : request.headers['content-type'],
      endpoint,
      apiVersion,
      validator: deps.validator,
      parser: deps.parser,
      maxBytes,
    });
    if (!validation.ok) throw hmrcRefusal(validation.status, validation.body);
    message = validation.submission;
  }
  const eori = await actingEori(deps, principal, { movementType, movementId }, message);

  const keyHeader = request.headers['idempotency-key'];
  if (
    keyHeader !== undefined &&
    (typeof keyHeader !== 'string' || !idempotencyKeyPattern.test(keyHeader))
  ) {
    throw hmrcError('BAD_REQUEST', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  // A repeat built afresh (same message identification, new bytes) finds the first request's
  // submission (repeat.ts); an identical one is found by the outbox itself.
  const earlier =
    keyHeader === undefined && message !== undefined
      ? await earlierSameMessage(deps.db, eori, { movementType, movementId }, message)
      : undefined;
  const submissionId = earlier ?? (await record());

  async function record(): Promise<string> {
    const result = await recordSubmission(deps, {
      eori,
      apiKeyId: principal.keyId,
      // An empty body says nothing to tell one large-message POST from the next: each opens a
      // movement, as at HMRC, unless the client names the request with an Idempotency-Key.
      idempotencyKey:
        typeof keyHeader === 'string' ? keyHeader : large ? `large-${randomUUID()}` : null,
      xml,
      movementType,
      movementId,
      message: message ?? awaitingUpload(movementType, endpoint),
      apiVersion,
      ...(large ? { route: 'large' as const } : {}),
    });
    if (result.kind === 'unusable') {
      // HMRC's answer for a token without the enrolment; the log says what the hub lacks.
      deps.logger.info(
        { eori, reason: result.connection.state },
        'HMRC-compatible write refused: no usable HMRC connection for the EORI',
      );
      throw noEnrolment();
    }
    if (result.kind === 'key-limit') {
      // HMRC's API platform answer when an application exceeds its rate.
      throw new ApiError(
        429,
        'MESSAGE_THROTTLED_OUT',
        'The request for the API is throttled as you have exceeded your quota.',
        {},
        { 'Retry-After': '10' },
      );
    }
    if (result.kind === 'key-conflict') {
      throw hmrcError('CONFLICT', 'This Idempotency-Key was already used with a different body');
    }
    return result.submission.id;
  }

  let closed = false;
  response.on('close', () => {
    closed = true;
  });
  const row = await waitForOutcome(
    deps.db,
    submissionId,
    deps.config.HMRC_COMPAT_WAIT_MS,
    () => closed,
  );
  const answer = row === undefined ? { kind: 'pending' as const } : answerOf(row);
  response.setHeader('X-Ctc-Hub-Submission-Id', submissionId);
  if (answer.kind === 'pending') throw gatewayTimeout();
  if (answer.kind === 'error') throw answer.error;
  if (answer.kind === 'initiated') {
    // HMRC's 202, with the hub's upload form in place of HMRC's.
    const body = JSON.parse(answer.reply.body) as Record<string, unknown>;
    const origin =
      deps.config.API_PUBLIC_URL ?? `${request.protocol}://${request.get('host') ?? 'localhost'}`;
    body.uploadRequest = uploadRequestFor(uploadSecret(deps), origin, submissionId);
    response.status(202).json(body);
    return;
  }
  const { reply } = answer;
  for (const [name, value] of Object.entries(reply.headers)) response.setHeader(name, value);
  response.status(reply.status).send(Buffer.from(reply.body, 'utf8'));
}

/**
 * HMRC's Content-Type routing (ContentTypeRouting.scala): exactly `application/xml` or
 * `application/xml; charset=utf-8` is the XML route, exactly `application/json` the JSON route,
 * no Content-Type the large-message route (not on API 1.0, which had none); anything else 415.
 */
function contentRoute(header: string | undefined, hubVersion: string): 'xml' | 'json' | 'large' {
  const normalised = header?.toLowerCase();
  if (normalised === 'application/xml' || normalised === 'application/xml; charset=utf-8')
    return 'xml';
  if (normalised === 'application/json' && hubVersion !== '1.0') return 'json';
  if (header === undefined && hubVersion !== '1.0') return 'large';
  throw hmrcError(
    'UNSUPPORTED_MEDIA_TYPE',
    header === undefined ? hmrcTexts.contentTypeMissing : hmrcTexts.contentTypeUnsupported(header),
  );
}

/** A JSON submission as the XML HMRC would convert it to (json-body.ts). */
function xmlOfJson(body: Buffer): Buffer {
  const xml = jsonToXml(body.toString('utf8'));
  if (xml === undefined) throw hmrcError('BAD_REQUEST', 'Input was malformed');
  return Buffer.from(xml, 'utf8');
}

/** ApiErrors as they are; body-parser's size refusal as HMRC's 413. */
function asHmrcError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const status = (error as { status?: number }).status;
  if (status === 413) return hmrcError('REQUEST_ENTITY_TOO_LARGE', 'Request Entity Too Large');
  if (status === 400 && (error as { type?: string }).type !== undefined)
    return hmrcError('BAD_REQUEST', (error as Error).message);
  return undefined;
}

/**
 * What a large-message submission is known to be before its file arrives: the message type when
 * the endpoint takes only one (IE015, IE007), else a placeholder the upload replaces.
 */
function awaitingUpload(movementType: MovementType, endpoint: SubmissionEndpoint): ValidSubmission {
  const created = endpoint.kind === 'new-departure' || endpoint.kind === 'new-arrival';
  return {
    messageType: created ? (movementType === 'departure' ? 'IE015' : 'IE007') : 'awaiting-upload',
    rootElement: '',
    movementType,
    lrn: null,
    mrn: null,
    messageIdentification: null,
    senderEori: null,
    holderEori: null,
    traderAtDestinationEori: null,
    messageEori: null,
    messageEoriElement: null,
  };
}

const hubVersion1 = (deps: ApiDeps) => deps.config.CTC_API_VERSION === '1.0';
