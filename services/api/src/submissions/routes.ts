import type { MovementType } from '@ctc-hub/db';
import express, { Router, type Request, type Response } from 'express';
import { notConnectedError } from '../connections/not-connected.js';
import type { ApiDeps } from '../deps.js';
import { canSeeEori, eoriFilter, principalOf } from '../http/auth.js';
import { ApiError, badRequest, forbidden, route } from '../http/errors.js';
import { parsePaging, readPage } from '../http/paging.js';
import { hmrcIdParam, textParam, uuidParam, withQuery } from '../http/params.js';
import { checked } from '../http/schemas.js';
import { findMovement } from '../movements/queries.js';
import { movementNotFound } from '../movements/visibility.js';
import { submissionJson, submissionPath, submissionSummaryJson } from './present.js';
import { submissionListQuery } from './openapi.js';
import { findSubmission, linkedActivity, listSubmissions } from './queries.js';
import { idempotencyKeyPattern, recordSubmission } from './record.js';
import { headerEori, traderEori } from './trader-eori.js';
import { validateSubmission, type SubmissionEndpoint } from './validate.js';

/**
 * Declarations and follow-up messages sent through us to HMRC:
 *   POST /v1/departures                      IE015
 *   POST /v1/departures/{departureId}/messages  IE013, IE014, IE170
 *   POST /v1/arrivals                        IE007
 *   POST /v1/arrivals/{arrivalId}/messages      IE044
 * Each is validated (well-formed, right message for the endpoint, NCTS schema, HMRC's business
 * rules) before anything is queued, written to the submissions outbox, and answered 202; the
 * worker sends it. Idempotency-Key (or, without one, an identical body from the same trader
 * within 24 h) returns the existing submission with 200 instead of creating a second one. An API
 * key may have SUBMISSION_MAX_IN_FLIGHT_PER_KEY declarations waiting for HMRC; a new one beyond
 * that is 429 KEY_LIMIT_REACHED with Retry-After (a repeat of an existing one is still 200).
 */
export function submissionRoutes(deps: ApiDeps): Router {
  const router = Router();
  const body = express.raw({ type: () => true, limit: deps.config.SUBMISSION_MAX_BYTES });

  const submit = (movementType: MovementType, endpoint: SubmissionEndpoint) =>
    route(async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const movementId =
        endpoint.kind === 'departure-message' ||
        endpoint.kind === 'arrival-message' ||
        request.method === 'PUT'
          ? hmrcIdParam(request, movementType === 'departure' ? 'departureId' : 'arrivalId')
          : null;
      const fromHeader = headerEori(request);
      const xml = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const validation = await validateSubmission({
        xml,
        contentType: request.headers['content-type'],
        endpoint,
        apiVersion: deps.config.CTC_API_VERSION,
        validator: deps.validator,
        parser: deps.parser,
        maxBytes: deps.config.SUBMISSION_MAX_BYTES,
      });
      if (!validation.ok) {
        response.status(validation.status).json(validation.body);
        return;
      }
      const message = validation.submission;

      const eori = traderEori(fromHeader, message);
      if (!canSeeEori(principal, eori))
        throw forbidden(`This API key may not act for EORI ${eori}`);

      if (movementId !== null) {
        // A movement we know of belongs to one trader; another trader gets HMRC's 404.
        const known = await findMovement(deps.db, movementType, movementId, undefined);
        if (
          known !== undefined &&
          known.enrollment_eori !== null &&
          known.enrollment_eori !== eori
        ) {
          throw movementNotFound(movementType, movementId);
        }
      }

      const keyHeader = request.headers['idempotency-key'];
      if (
        keyHeader !== undefined &&
        (typeof keyHeader !== 'string' || !idempotencyKeyPattern.test(keyHeader))
      ) {
        throw badRequest('Idempotency-Key must be 1 to 255 printable ASCII characters');
      }
      // Before anything is queued: an EORI the hub cannot act for at HMRC gets 409 now, not a
      // 202 and minutes of retries. A repeat of a submission made earlier still gets it back.
      const result = await recordSubmission(deps, {
        eori,
        apiKeyId: principal.keyId,
        idempotencyKey: typeof keyHeader === 'string' ? keyHeader : null,
        xml,
        movementType,
        movementId,
        message,
        apiVersion: deps.config.CTC_API_VERSION,
      });
      if (result.kind === 'unusable') throw notConnectedError(result.connection);
      if (result.kind === 'key-limit') {
        // Every tenant's declarations (and balance checks) share the application's HMRC budget
        // at the same priority, ahead of message fetches: one key's backlog delays them all.
        const max = deps.config.SUBMISSION_MAX_IN_FLIGHT_PER_KEY;
        throw new ApiError(
          429,
          'KEY_LIMIT_REACHED',
          `This API key already has ${result.inFlight} declarations waiting to be sent to HMRC, ` +
            `the most it may have at once (${max}); nothing was stored. Send it again once some ` +
            'have gone (GET /v1/submissions?status=queued), with the same Idempotency-Key.',
          { limit: 'submissions-in-flight', max },
          { 'Retry-After': '10' },
        );
      }
      if (result.kind === 'key-conflict') {
        throw new ApiError(
          409,
          'CONFLICT',
          'This Idempotency-Key was already used with a different body',
          {
            submissionId: result.submission.id,
          },
        );
      }
      const submission = result.submission;
      if (result.kind === 'existing') {
        const activity = await linkedActivity(deps.db, submission);
        response.setHeader('Location', submissionPath(submission.id));
        response.status(200).json(submissionJson(submission, activity.movement, activity.messages));
        return;
      }
      response.setHeader('Location', submissionPath(submission.id));
      response.status(202).json({
        submissionId: submission.id,
        status: submission.status,
        _links: { self: { href: submissionPath(submission.id) } },
      });
    });

  router.post('/v1/departures', body, submit('departure', { kind: 'new-departure' }));
  router.post(
    '/v1/departures/:departureId/messages',
    body,
    submit('departure', { kind: 'departure-message' }),
  );
  router.post('/v1/arrivals', body, submit('arrival', { kind: 'new-arrival' }));
  router.post(
    '/v1/arrivals/:arrivalId/messages',
    body,
    submit('arrival', { kind: 'arrival-message' }),
  );
  // API 1.0 (phase 4) only: an arrival notification sent again for an existing arrival, e.g.
  // after NCTS rejected the first (HMRC's PUT /movements/arrivals/{arrivalId}).
  router.put(
    '/v1/arrivals/:arrivalId',
    (_request, _response, next) => {
      if (deps.config.CTC_API_VERSION !== '1.0') {
        next(
          new ApiError(
            405,
            'METHOD_NOT_ALLOWED',
            'Resubmitting an arrival (PUT) exists only in CTC API 1.0; send a new IE007 with POST /v1/arrivals',
          ),
        );
        return;
      }
      next();
    },
    body,
    submit('arrival', { kind: 'new-arrival' }),
  );

  router.get(
    '/v1/submissions/:submissionId',
    route(async (request, response) => {
      const id = uuidParam(request, 'submissionId');
      const submission = await findSubmission(deps.db, id);
      if (submission === undefined || !canSeeEori(principalOf(request), submission.eori)) {
        throw new ApiError(404, 'NOT_FOUND', `Submission ${id} was not found`);
      }
      const activity = await linkedActivity(deps.db, submission);
      response.json(submissionJson(submission, activity.movement, activity.messages));
    }),
  );

  router.get(
    '/v1/submissions',
    route(async (request, response) => {
      const fields = submissionListQuery.shape;
      const status = checked(fields.status, textParam(request, 'status'));
      const eori = checked(fields.eori, textParam(request, 'eori'));
      const lrn = textParam(request, 'lrn');
      const messageType = textParam(request, 'messageType')?.toUpperCase();
      const paging = parsePaging(request);
      const { totalCount, items } = await readPage(paging, (limit, offset) =>
        listSubmissions(
          deps.db,
          {
            ...(status !== undefined ? { status } : {}),
            ...(eori !== undefined ? { eori } : {}),
            ...(lrn !== undefined ? { lrn } : {}),
            ...(messageType !== undefined ? { messageType } : {}),
            scope: eoriFilter(principalOf(request)),
          },
          limit,
          offset,
        ),
      );
      response.json({
        _links: {
          self: {
            href: withQuery('/v1/submissions', [
              ['status', status],
              ['eori', eori],
              ['lrn', lrn],
              ['messageType', messageType],
              ['page', request.query.page === undefined ? undefined : paging.page],
              ['count', request.query.count === undefined ? undefined : paging.count],
            ]),
          },
        },
        totalCount,
        submissions: items.map(submissionSummaryJson),
      });
    }),
  );
  return router;
}
