import type { NextFunction, Request, Response } from 'express';
import { HmrcError } from '../core/errors.js';

/**
 * Errors of the retired CTC Traders API 1.0 (reference §3.8): Play's JSON error body
 * `{"statusCode": 400, "message": "…"}`, with `"code": "CLIENT_ERROR"` on the 404s and box
 * errors (CTC@v1 OAS `NotFound`, `BadRequest1`). API Platform errors (401, 429) keep the
 * platform's `{code, message}` body: the platform answers them before any API version runs.
 */
export class V1Error extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'V1Error';
  }
}

export const v1BadRequest = (message: string) => new V1Error(400, message);
export const v1NotFound = (message: string) => new V1Error(404, message, 'CLIENT_ERROR');
/** CTC@v1 OAS `NotAcceptable` example. */
export const v1NotAcceptable = () => new V1Error(406, 'The accept header is missing or invalid');

export function sendV1Error(response: Response, error: V1Error): void {
  response.status(error.status).json({
    statusCode: error.status,
    message: error.message,
    ...(error.code === undefined ? {} : { code: error.code }),
  });
}

/**
 * Error middleware of the v1 router: V1Error as is; an HmrcError thrown by shared code, and
 * body-reader failures (413 past the size limit, 400 for a broken body), in the v1 shape.
 */
export function v1ErrorHandler() {
  return (error: unknown, _request: Request, response: Response, next: NextFunction): void => {
    if (response.headersSent) return next(error);
    if (error instanceof V1Error) return sendV1Error(response, error);
    if (error instanceof HmrcError) {
      for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
      return sendV1Error(response, new V1Error(error.status, error.message));
    }
    const status = (error as { status?: number }).status;
    if (status === 413) return sendV1Error(response, new V1Error(413, 'Request Entity Too Large'));
    if (status === 400) return sendV1Error(response, v1BadRequest('Invalid XML'));
    next(error);
  };
}
