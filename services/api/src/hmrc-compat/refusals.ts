import { ApiError } from '../http/errors.js';
import { HmrcError } from '../http/hmrc-errors.js';
import type { SubmissionErrorBody } from '../submissions/validate.js';

/**
 * A refusal of the shared validation (submissions/validate.ts) as HMRC writes it. The /v1 routes
 * add help of their own (which /v1 route takes a message, the element an issue is about,
 * validationErrors on every refusal); HMRC's clients get HMRC's text and fields only:
 * validationErrors with SCHEMA_VALIDATION alone, each `{lineNumber, columnNumber, message}`.
 */
export function hmrcRefusal(status: number, body: SubmissionErrorBody): ApiError {
  const message = hmrcText(body.message);
  if (body.code !== 'SCHEMA_VALIDATION' || body.validationErrors === undefined)
    return new HmrcError(status, body.code, message);
  return new ApiError(status, body.code, message, {
    validationErrors: body.validationErrors.map(({ lineNumber, columnNumber, message: text }) => ({
      lineNumber,
      columnNumber,
      message: text,
    })),
  });
}

/** "IE007 is not a valid message type on POST /v1/departures: …" → HMRC's own sentence. */
function hmrcText(message: string): string {
  const wrongType = /^(\S+ is not a valid message type)\b/.exec(message);
  return wrongType?.[1] ?? message;
}
