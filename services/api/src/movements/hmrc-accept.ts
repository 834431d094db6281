import type { Request } from 'express';
import { hmrcNotAcceptable } from '../http/hmrc-errors.js';

/**
 * The Accept header of the HMRC-compatible routes, decided as HMRC's ValidateAcceptRefiner does
 * (common-transit-convention-traders): the whole header must be
 * `application/vnd.hmrc.{version}+{type}`, version 2.1 or 3.0, type xml, json, json+xml or
 * json-xml (case-insensitive), and the pair one the endpoint serves. Anything else is 406 with
 * HMRC's message; there is no fallback representation and no content negotiation (`*\/*`,
 * `application/json` and lists of types are all refused, as HMRC refuses them).
 *
 * The version does not restrict which movements a client may read: HMRC's read paths ask its
 * persistence service with the version only for conversion and auditing, and serve a movement
 * declared with 2.1 to a 3.0 reader and vice versa. It chooses the schema set of a `+json`
 * conversion (2.1 → phase 5, 3.0 → phase 6).
 */

export type HmrcVersion = '2.1' | '3.0';
export type HmrcMediaType = 'json' | 'xml' | 'json+xml' | 'json-xml';

export interface HmrcAccept {
  version: HmrcVersion;
  mediaType: HmrcMediaType;
}

const versioned = /^application\/vnd\.hmrc\.(\d*\.\d*)\+(.+)$/;
const mediaTypes: readonly HmrcMediaType[] = ['xml', 'json', 'json+xml', 'json-xml'];
const versions: readonly HmrcVersion[] = ['2.1', '3.0'];

/** What each HMRC read endpoint serves (MovementsController's allowed header sets). */
export const servedMediaTypes = {
  /** Movement lists, a movement, a message list. */
  jsonOnly: ['json'],
  /** A single message. */
  message: ['json', 'json+xml', 'json-xml'],
  /** A message body. */
  body: ['json', 'xml'],
} as const satisfies Record<string, readonly HmrcMediaType[]>;

export function hmrcAccept(request: Request, served: readonly HmrcMediaType[]): HmrcAccept {
  const header = request.headers.accept;
  if (header === undefined) throw hmrcNotAcceptable('The Accept header is missing.');
  const match = versioned.exec(header);
  if (match === null) throw hmrcNotAcceptable(`Invalid accept header: ${header}`);
  const [, version = '', type = ''] = match;
  const mediaType = mediaTypes.find((candidate) => candidate === type.toLowerCase());
  if (mediaType === undefined) throw hmrcNotAcceptable('The Accept header is missing or invalid.');
  const knownVersion = versions.find((candidate) => candidate === version);
  if (knownVersion === undefined) throw hmrcNotAcceptable('Invalid version provided');
  if (!served.includes(mediaType))
    throw hmrcNotAcceptable('The Accept header is missing or invalid.');
  return { version: knownVersion, mediaType };
}
