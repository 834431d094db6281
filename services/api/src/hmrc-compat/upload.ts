import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { recordUploadedFile } from '@ctc-hub/db';
import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import { currentTraceCarrier } from '@ctc-hub/telemetry';
import express, { Router, type Request, type Response } from 'express';
import type { ApiDeps } from '../deps.js';
import { validateSubmission, type SubmissionEndpoint } from '../submissions/validate.js';
import { hmrcRefusal } from './refusals.js';

/**
 * HMRC's large-message route, second step (reference §3.4), as the hub offers it. HMRC answers
 * the empty POST with an Upscan form (`uploadRequest.href` and `fields`) to which the client
 * POSTs the file as multipart/form-data, fields first and the file (part `file`) last. The hub
 * opens the movement at HMRC the same way (its worker initiates; the client gets HMRC's ids),
 * but hands the client a form of its own, here, so that the file is validated like every
 * declaration before HMRC sees it, and sent by the worker within the HMRC budget (the worker
 * uploads it to HMRC's Upscan form, then HMRC's SUBMISSION_NOTIFICATION settles it).
 *
 * The form is its own credential, as Upscan's is: `uploadToken` is an HMAC of the submission id
 * under the hub's token-encryption keys, so the URL cannot be guessed and no API key is needed
 * (software written for Upscan sends none). One upload per form; a second is 409.
 * Answers: 204 as Upscan's S3 does; 400 with HMRC's error body when the file is not a valid
 * declaration for the endpoint (HMRC would take it and report the failure later in a
 * SUBMISSION_NOTIFICATION; refusing at once leaves the movement open for a corrected upload).
 */

/** Upscan's limit in HMRC's configuration. */
export const uploadMaxBytes = 20_000_000;

export const uploadPath = (submissionId: string) => `/uploads/${submissionId}`;

export function uploadSecret(deps: Pick<ApiDeps, 'config'>): Buffer {
  const keys = [...deps.config.TOKEN_ENCRYPTION_KEYS];
  if (deps.config.TOKEN_ENCRYPTION_KEY !== undefined) keys.push(deps.config.TOKEN_ENCRYPTION_KEY);
  // Without a configured key (tests), a secret of this process: forms then work on one replica.
  return keys.length === 0 ? processSecret : Buffer.from(`ctc-hub upload form|${keys[0]}`, 'utf8');
}
const processSecret = randomBytes(32);

export const uploadToken = (secret: Buffer, submissionId: string): string =>
  createHmac('sha256', secret).update(submissionId).digest('base64url');

/** The form the client gets in place of HMRC's. */
export function uploadRequestFor(secret: Buffer, origin: string, submissionId: string) {
  return {
    href: `${origin}${uploadPath(submissionId)}`,
    fields: { uploadToken: uploadToken(secret, submissionId) },
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function uploadRoutes(deps: ApiDeps): Router {
  const router = Router();
  const secret = uploadSecret(deps);
  const text = (response: Response, status: number, message: string) =>
    response.status(status).type('text/plain').send(message);

  router.post(
    '/uploads/:submissionId',
    express.raw({ type: () => true, limit: uploadMaxBytes + 64 * 1024 }),
    async (request: Request, response: Response, next) => {
      try {
        const param = request.params.submissionId;
        const id = typeof param === 'string' ? param : '';
        const parts =
          uuidPattern.test(id) && Buffer.isBuffer(request.body)
            ? parseForm(request.headers['content-type'], request.body)
            : undefined;
        if (parts === undefined)
          return void text(response, 400, 'The body is not multipart/form-data');
        const token = parts.find((part) => part.name === 'uploadToken')?.data ?? Buffer.alloc(0);
        const expected = Buffer.from(uploadToken(secret, id), 'utf8');
        if (token.length !== expected.length || !timingSafeEqual(token, expected))
          return void text(response, 403, 'The form field uploadToken is missing or altered');
        const file = parts.at(-1);
        if (file?.name !== 'file')
          return void text(response, 400, 'The part named "file" must come last');

        const submission = await deps.db
          .selectFrom('submissions')
          .select(['id', 'movement_type', 'message_type', 'api_version', 'status'])
          .where('id', '=', id)
          .where('route', '=', 'large')
          .executeTakeFirst();
        if (submission === undefined) return void text(response, 404, 'No such upload');
        const created = submission.message_type === 'IE015' || submission.message_type === 'IE007';
        const endpoint: SubmissionEndpoint = {
          kind:
            submission.movement_type === 'departure'
              ? created
                ? 'new-departure'
                : 'departure-message'
              : created
                ? 'new-arrival'
                : 'arrival-message',
        };
        const validation = await validateSubmission({
          xml: file.data,
          contentType: 'application/xml',
          endpoint,
          apiVersion: submission.api_version,
          validator: deps.validator,
          parser: deps.parser,
          maxBytes: uploadMaxBytes,
        });
        if (!validation.ok) {
          const refusal = hmrcRefusal(validation.status, validation.body);
          return void response.status(refusal.status).json(refusal.body());
        }
        const message = validation.submission;
        const body = Buffer.from(file.data);
        // Only into a form still open: initiated at HMRC, nothing uploaded yet.
        const taken = await recordUploadedFile(deps.db, id, {
          body,
          bodySha256: createHash('sha256').update(body).digest(),
          messageType: message.messageType,
          lrn: message.lrn,
          mrn: message.mrn,
          messageIdentification: message.messageIdentification,
        });
        if (!taken)
          return void text(response, 409, 'This form was used already, or is not open yet');
        await addJob(
          deps.hmrcQueue,
          jobs.submit,
          { submissionId: id, trace: currentTraceCarrier() },
          // The initiation's job may still be kept as completed under the plain id.
          { jobId: `${jobIds.submit(id)}-upload`, attempts: deps.config.SUBMIT_MAX_ATTEMPTS },
        ).catch((error: unknown) =>
          deps.logger.warn(
            { err: error, submissionId: id },
            'could not queue the upload now; the outbox relay will',
          ),
        );
        deps.logger.info(
          { submissionId: id, messageType: message.messageType },
          'large message uploaded',
        );
        response.status(204).end();
      } catch (error) {
        next(error);
      }
    },
  );
  return router;
}

interface FormPart {
  name: string;
  data: Buffer;
}

/** multipart/form-data into its parts, in order; undefined when it is not well formed. */
function parseForm(contentType: string | undefined, body: Buffer): FormPart[] | undefined {
  const boundary = /^multipart\/form-data\b.*?\bboundary=(?:"([^"]+)"|([^;\s]+))/i.exec(
    contentType ?? '',
  );
  const marker = boundary?.[1] ?? boundary?.[2];
  if (marker === undefined) return undefined;
  const delimiter = Buffer.from(`--${marker}`);
  const separator = Buffer.from(`\r\n--${marker}`);
  let at = body.indexOf(delimiter);
  if (at === -1) return undefined;
  at += delimiter.length;
  const parts: FormPart[] = [];
  while (body.subarray(at, at + 2).toString('latin1') === '\r\n') {
    const headersEnd = body.indexOf('\r\n\r\n', at);
    if (headersEnd === -1) return undefined;
    const headers = body.subarray(at + 2, headersEnd).toString('utf8');
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
    const end = body.indexOf(separator, headersEnd + 4);
    if (name === undefined || end === -1) return undefined;
    parts.push({ name, data: body.subarray(headersEnd + 4, end) });
    at = end + separator.length;
  }
  // The closing delimiter is the boundary followed by "--".
  return body.subarray(at, at + 2).toString('latin1') === '--' ? parts : undefined;
}
