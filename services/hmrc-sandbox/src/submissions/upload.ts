import express, { Router, type Express, type Request, type Response } from 'express';
import type { Logger } from '@ctc-hub/telemetry';
import { boundaryOf, parseMultipart } from './multipart.js';
import { param } from '../core/errors.js';
import type { SandboxStats } from '../core/stats.js';
import type { Submissions } from './submissions.js';

/**
 * The stand-in for HMRC's Upscan upload proxy (large-message route, reference §3.4), served by
 * a listener of its own (start.ts), as HMRC serves it from another host than the API
 * (`https://www.<environment>.upscan.tax.service.gov.uk/v1/uploads/…`): a multipart POST with
 * every field of uploadRequest.fields and then the file, part name `file`, last. 204 like S3;
 * then the sandbox validates and sends a SUBMISSION_NOTIFICATION. Errors are plain text, as
 * S3's are not HMRC's JSON. Never a redirect: HMRC's CTC service asks for none.
 */

/** HMRC's Upscan configuration allows 20 MB (the guide says 8 MB). */
export const largeMessageLimit = 20_000_000;

export function uploadRoutes(submissions: Submissions, logger: Logger): Router {
  const router = Router();
  router.post(
    '/v1/uploads/:uploadId',
    express.raw({ type: () => true, limit: largeMessageLimit + 64 * 1024 }),
    (request: Request, response: Response) => {
      const upload = submissions.upload(param(request, 'uploadId'));
      if (upload === undefined) {
        response
          .status(404)
          .type('text/plain')
          .send('NoSuchUpload: the upload URL is unknown or was used already');
        return;
      }
      const boundary = boundaryOf(request.headers['content-type']);
      const parts =
        boundary === undefined || !Buffer.isBuffer(request.body)
          ? undefined
          : parseMultipart(request.body, boundary);
      if (parts === undefined) {
        response
          .status(400)
          .type('text/plain')
          .send('MalformedPOSTRequest: the body is not multipart/form-data');
        return;
      }
      const file = parts.at(-1);
      if (file === undefined || file.name !== 'file') {
        response
          .status(400)
          .type('text/plain')
          .send('InvalidArgument: the part named "file" must come last');
        return;
      }
      for (const [field, value] of Object.entries(upload.fields)) {
        const part = parts.find((candidate) => candidate.name === field);
        if (part === undefined || part.data.toString('utf8') !== value) {
          response
            .status(403)
            .type('text/plain')
            .send(`AccessDenied: form field ${field} is missing or altered`);
          return;
        }
      }
      if (file.data.length > largeMessageLimit) {
        response
          .status(400)
          .type('text/plain')
          .send('EntityTooLarge: your proposed upload exceeds the maximum allowed size');
        return;
      }
      response.status(204).end();
      submissions.completeUpload(upload, Buffer.from(file.data)).catch((error: unknown) => {
        logger.error({ err: error, uploadId: upload.uploadId }, 'large message processing failed');
      });
    },
  );
  return router;
}

/** The upload listener's whole app: the upload route, plain-text 404 for anything else. */
export function createUploadApp(
  submissions: Submissions,
  stats: SandboxStats,
  logger: Logger,
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((request: Request, response: Response, next) => {
    response.on('close', () => {
      const status = response.writableFinished ? response.statusCode : 0;
      stats.recordApiCall(
        `UPLOAD ${request.method} ${request.path.replace(/[^/]+$/, '{id}')}`,
        status,
      );
    });
    next();
  });
  app.use(uploadRoutes(submissions, logger));
  app.use((_request: Request, response: Response) => {
    response.status(404).type('text/plain').send('NoSuchKey: the resource does not exist');
  });
  return app;
}
