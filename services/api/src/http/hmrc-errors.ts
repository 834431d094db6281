import type { Response } from 'express';
import { ApiError } from './errors.js';

/**
 * Error bodies exactly as HMRC's CTC Traders API writes them (common-transit-convention-traders),
 * for the HMRC-compatible routes, where clients written against HMRC parse them:
 *  - most errors (PresentationError.StandardError): `{"message": …, "code": "NOT_FOUND"}`;
 *  - a path id that fails HMRC's binder (Bindings.scala, through CustomJsonErrorHandler):
 *    `{"message": "movementId: Value … is not a 16 character hexadecimal string",
 *      "statusCode": 400, "code": "BAD_REQUEST"}` (BindingError);
 *  - a query parameter that fails Play's binder (dates, page/count that are not numbers):
 *    bootstrap's ErrorResponse `{"statusCode": 400, "message": …}`, with no code.
 * Key order follows HMRC's writers; clients should not care, but diffing tools do.
 */
export type HmrcErrorShape = 'standard' | 'binding' | 'play';

export class HmrcError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly shape: HmrcErrorShape = 'standard',
  ) {
    super(status, code, message);
    this.name = 'HmrcError';
  }

  override body(): Record<string, unknown> {
    if (this.shape === 'binding')
      return { message: this.message, statusCode: this.status, code: this.code };
    if (this.shape === 'play') return { statusCode: this.status, message: this.message };
    return { message: this.message, code: this.code };
  }
}

export const hmrcBadRequest = (message: string) => new HmrcError(400, 'BAD_REQUEST', message);
export const hmrcNotFound = (message: string) => new HmrcError(404, 'NOT_FOUND', message);
export const hmrcNotAcceptable = (message: string) => new HmrcError(406, 'NOT_ACCEPTABLE', message);
/** A path parameter HMRC's router refuses before the controller runs. */
export const hmrcBindingError = (message: string) =>
  new HmrcError(400, 'BAD_REQUEST', message, 'binding');
/** A query parameter Play's binder refuses (bootstrap's ErrorResponse). */
export const hmrcQueryError = (message: string) =>
  new HmrcError(400, 'BAD_REQUEST', message, 'play');

/**
 * HMRC's error codes (ErrorCode.scala) with the status each belongs to, for the write routes
 * (hmrc-compat/), and HMRC's texts where a client may match on them.
 */
export const hmrcCodes = {
  BAD_REQUEST: 400,
  BUSINESS_VALIDATION_ERROR: 400,
  INVALID_OFFICE: 400,
  SCHEMA_VALIDATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  NOT_ACCEPTABLE: 406,
  CONFLICT: 409,
  GONE: 410,
  REQUEST_ENTITY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_SERVER_ERROR: 500,
  GATEWAY_TIMEOUT: 504,
} as const;

export type HmrcCode = keyof typeof hmrcCodes;

/**
 * An error with HMRC's code and its status; `extra` (validationErrors) goes into the body after
 * HMRC's two fields, as HMRC's XmlSchemaValidationError writes it.
 */
export const hmrcError = (code: HmrcCode, message: string, extra?: Record<string, unknown>) =>
  extra === undefined
    ? new HmrcError(hmrcCodes[code], code, message)
    : new ApiError(hmrcCodes[code], code, message, extra);

/** HMRC's texts (ValidateAcceptRefiner.scala, MediaType.scala, Version.scala, AuthAction.scala). */
export const hmrcTexts = {
  acceptMissing: 'The Accept header is missing.',
  acceptInvalid: 'The Accept header is missing or invalid.',
  versionInvalid: 'Invalid version provided',
  invalidAccept: (header: string) => `Invalid accept header: ${header}`,
  noEnrolment: "Current user doesn't have a valid EORI enrolment.",
  contentTypeMissing: 'A content-type header is required!',
  contentTypeUnsupported: (header: string) => `Content-type header ${header} is not supported!`,
  internal: 'Internal server error',
} as const;

export const notAcceptable = (message: string = hmrcTexts.acceptInvalid) =>
  hmrcError('NOT_ACCEPTABLE', message);

/** A token without the CTC enrolment, at HMRC; here: a key that may not act for the trader. */
export const noEnrolment = () => hmrcError('FORBIDDEN', hmrcTexts.noEnrolment);

/** API 1.0's error body: `{"statusCode": 400, "message": "…"}` (reference §3.8). */
export function v1Body(error: ApiError): Record<string, unknown> {
  return { statusCode: error.status, message: error.message };
}

/** Sends `error` in HMRC's shape for `apiVersion` (1.0: `{statusCode, message}`). */
export function sendHmrcError(response: Response, error: ApiError, apiVersion?: string): void {
  for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
  response.status(error.status).json(apiVersion === '1.0' ? v1Body(error) : error.body());
}
