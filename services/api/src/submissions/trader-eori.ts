import type { Request } from 'express';
import { badRequest } from '../http/errors.js';
import { eoriPattern } from '../http/params.js';
import type { ValidSubmission } from './validate.js';

/**
 * The EORI a submission acts for: whose HMRC authority (token) sends it. X-Trader-EORI when
 * given, else the EORI the message names (holder, trader at destination, or an EORI-shaped
 * messageSender). Either way it must have an EORI's shape, or the answer is 400 naming where it
 * came from: an unusable value would otherwise be queued and fail at the worker minutes later.
 */

const shape = 'an EORI: two letters then up to 15 letters or digits, such as GB123456789000';

/** X-Trader-EORI, checked before the body is read; undefined when the header is absent. */
export function headerEori(request: Request): string | undefined {
  const header = request.headers['x-trader-eori'];
  if (header === undefined) return undefined;
  const eori = typeof header === 'string' ? header.trim().toUpperCase() : '';
  if (!eoriPattern.test(eori)) throw badRequest(`X-Trader-EORI must be ${shape}`);
  return eori;
}

export function traderEori(fromHeader: string | undefined, message: ValidSubmission): string {
  if (fromHeader !== undefined) return fromHeader;
  if (message.messageEori === null) {
    throw badRequest(
      'The trader EORI could not be determined: send X-Trader-EORI (the message names none)',
    );
  }
  const eori = message.messageEori.trim().toUpperCase();
  if (!eoriPattern.test(eori)) {
    throw badRequest(
      `The trader EORI was taken from ${message.messageEoriElement ?? 'the message'}, which is ` +
        `not ${shape}. Send X-Trader-EORI with the EORI whose HMRC connection to use.`,
    );
  }
  return eori;
}
