import type { NextFunction, Request, Response } from 'express';

/**
 * Error bodies follow HMRC's shape, `{ "code": "...", "message": "..." }` (plus
 * `validationErrors` for schema failures), so clients that handle HMRC's errors handle ours.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers that go with the error (Retry-After for 429 and 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The JSON body sent for this error (HmrcError overrides it with HMRC's exact shapes). */
  body(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.extra };
  }
}

export const badRequest = (message: string, extra?: Record<string, unknown>) =>
  new ApiError(400, 'BAD_REQUEST', message, extra);
export const notFound = (message: string) => new ApiError(404, 'NOT_FOUND', message);
export const forbidden = (message: string) => new ApiError(403, 'FORBIDDEN', message);

export function sendError(response: Response, error: ApiError): void {
  for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
  response.status(error.status).json(error.body());
}

/** Last middleware: ApiError → its status; body-parser errors → 400/413/415; anything else → 500. */
export function errorHandler(logger: { error: (obj: object, msg: string) => void }) {
  return (error: unknown, request: Request, response: Response, _next: NextFunction): void => {
    if (error instanceof ApiError) return sendError(response, error);
    const status =
      (error as { status?: number; statusCode?: number }).status ??
      (error as { statusCode?: number }).statusCode;
    const type = (error as { type?: string }).type;
    if (status === 413)
      return sendError(
        response,
        new ApiError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request Entity Too Large'),
      );
    if (status === 415)
      return sendError(
        response,
        new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', (error as Error).message),
      );
    if (status === 400 && type !== undefined)
      return sendError(response, badRequest((error as Error).message));
    logger.error(
      { err: error, path: request.path, requestId: response.getHeader('x-request-id') },
      'unhandled error',
    );
    sendError(response, new ApiError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
  };
}

/** Wraps an async route so a rejection reaches the error handler. */
export const route =
  (handler: (request: Request, response: Response) => Promise<void>) =>
  (request: Request, response: Response, next: NextFunction): void => {
    handler(request, response).catch(next);
  };
