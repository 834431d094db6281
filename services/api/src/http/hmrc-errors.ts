import type { Response } from 'express';
import { ApiError } from './errors.js';

/**
 * HMRC's error answers on the CTC Traders API, for the routes that stand in for it. HMRC's codes
 * (ErrorCode.scala) with the status each belongs to, and its texts where a client may match on
 * them. Bodies are `{code, message}` plus `validationErrors` on schema failures, like every
 * ApiError; API 1.0 answered `{statusCode, message}` instead (v1Body).
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

export const hmrcError = (code: HmrcCode, message: string, extra?: Record<string, unknown>) =>
  new ApiError(hmrcCodes[code], code, message, extra);

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
  const body =
    apiVersion === '1.0'
      ? v1Body(error)
      : { code: error.code, message: error.message, ...error.extra };
  response.status(error.status).json(body);
}
