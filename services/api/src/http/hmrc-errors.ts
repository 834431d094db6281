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
