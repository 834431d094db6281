import type { Request } from 'express';
import { HmrcError, notAcceptable } from './errors.js';

/**
 * Accept handling of the CTC Traders API (reference §3.1): the header must match
 * `application/vnd.hmrc.<version>+<suffix>` with version 2.1 or 3.0, and each endpoint allows
 * only some suffixes. Anything else is 406 NOT_ACCEPTABLE.
 */

export type AcceptSuffix = 'json' | 'xml' | 'json-xml' | 'json+xml';
export interface CtcAccept {
  version: '2.1' | '3.0';
  suffix: AcceptSuffix;
}

const acceptPattern = /^application\/vnd\.hmrc\.(\d*\.\d*)\+(.+)$/;
const versions = new Set(['2.1', '3.0']);

const suffixes = new Set(['json', 'xml', 'json-xml', 'json+xml']);

/** In the order and with the words of HMRC's ValidateAcceptRefiner. */
export function ctcAccept(request: Request, allowed: readonly AcceptSuffix[]): CtcAccept {
  const header = request.headers.accept;
  if (header === undefined) throw notAcceptable('The Accept header is missing.');
  const match = acceptPattern.exec(header);
  if (match === null) throw notAcceptable(`Invalid accept header: ${header}`);
  const [, version, rawSuffix] = match as unknown as [string, string, string];
  const suffix = rawSuffix.toLowerCase();
  if (!suffixes.has(suffix)) throw notAcceptable();
  if (!versions.has(version)) throw notAcceptable('Invalid version provided');
  if (!(allowed as readonly string[]).includes(suffix)) throw notAcceptable();
  return { version: version as CtcAccept['version'], suffix: suffix as AcceptSuffix };
}

/** Exact-match Accept (PPNS 1.0, Guarantee Balance 2.0). */
export function exactAccept(request: Request, expected: string, code: string): void {
  if (request.headers.accept?.trim() !== expected) {
    throw new HmrcError(406, code, 'The accept header is missing or invalid');
  }
}
