import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@ctc-hub/telemetry';

/**
 * HMRC's error body: `{ "code": "...", "message": "..." }`, plus `validationErrors` for schema
 * failures (reference §3.5). Route handlers throw these; the error handler writes them.
 */
export class HmrcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HmrcError';
  }
}

export const badRequest = (message: string, extra?: Record<string, unknown>) =>
  new HmrcError(400, 'BAD_REQUEST', message, extra);
export const notFound = (message: string) => new HmrcError(404, 'NOT_FOUND', message);
export const notAcceptable = (message = 'The Accept header is missing or invalid.') =>
  new HmrcError(406, 'NOT_ACCEPTABLE', message);
export const throttled = (retryAfterSeconds: number) =>
  new HmrcError(
    429,
    'MESSAGE_THROTTLED_OUT',
    'The request for the API is throttled as you have exceeded your quota.',
    {},
    { 'retry-after': String(retryAfterSeconds) },
  );

/**
 * Errors Play answers before HMRC's controller runs (CustomJsonErrorHandler): a path id that
 * fails the binder, `{message, statusCode, code}`; a query parameter that fails it,
 * bootstrap's `{statusCode, message}`.
 */
export class BinderError extends HmrcError {
  constructor(
    message: string,
    readonly where: 'path' | 'query',
  ) {
    super(400, 'BAD_REQUEST', message);
  }
}

export function sendError(response: Response, error: HmrcError): void {
  for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
  if (error instanceof BinderError) {
    response
      .status(400)
      .json(
        error.where === 'path'
          ? { message: error.message, statusCode: 400, code: 'BAD_REQUEST' }
          : { statusCode: 400, message: error.message },
      );
    return;
  }
  response.status(error.status).json({ code: error.code, message: error.message, ...error.extra });
}

/** Wraps an async handler so a rejection reaches the error handler. */
export const route =
  (handler: (request: Request, response: Response) => Promise<void> | void) =>
  (request: Request, response: Response, next: NextFunction): void => {
    try {
      const result = handler(request, response);
      if (result instanceof Promise) result.catch(next);
    } catch (error) {
      next(error);
    }
  };

/** Last middleware: HmrcError → its status; body-parser errors → 400/413; anything else → 500. */
export function errorHandler(logger: Logger) {
  return (error: unknown, request: Request, response: Response, _next: NextFunction): void => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof HmrcError) return sendError(response, error);
    const status = (error as { status?: number }).status;
    if (status === 413) {
      return sendError(
        response,
        new HmrcError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request Entity Too Large'),
      );
    }
    if (status === 400) return sendError(response, badRequest('Input was malformed'));
    logger.error({ err: error, method: request.method, path: request.path }, 'unhandled error');
    sendError(response, new HmrcError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
  };
}

/** A path parameter as a string (Express 5 types wildcard params as arrays). */
export function param(request: Request, name: string): string {
  const value = (request.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value.join('/') : (value ?? '');
}
