import { notAcceptable, hmrcTexts } from '../http/hmrc-errors.js';

/**
 * The API version of a write request, from its Accept header, checked as HMRC checks it
 * (ValidateAcceptRefiner.scala): `application/vnd.hmrc.<version>+<type>`, the type one of HMRC's
 * four (any case), the version one HMRC serves, and for a POST only `+json`. Each failure is
 * 406 NOT_ACCEPTABLE with HMRC's own text.
 *
 * Versions: 2.1 (phase 5) and 3.0 (phase 6), as HMRC serves today, whichever the hub's
 * CTC_API_VERSION, since both share HMRC's paths and the worker sends each declaration with the
 * version it was written for. 2.0 is refused as HMRC refuses it ("Invalid version provided"):
 * HMRC retired it in 2025 and deleted its code, so software still sending 2.0 fails at HMRC too,
 * and its transition-phase schemas are not 2.1's. On a hub set to CTC_API_VERSION=1.0 (HMRC's
 * retired phase 4 API, for environments that still run it) only 1.0 is served, because that
 * hub's HMRC speaks nothing else.
 */

const acceptPattern = /^application\/vnd\.hmrc\.(\d*\.\d*)\+(.+)/;
const mediaTypes = new Set(['xml', 'json', 'json+xml', 'json-xml']);

export type WriteVersion = '1.0' | '2.1' | '3.0';

export function writeVersion(header: string | undefined, hubVersion: string): WriteVersion {
  if (header === undefined) throw notAcceptable(hmrcTexts.acceptMissing);
  const match = acceptPattern.exec(header);
  if (match === null) throw notAcceptable(hmrcTexts.invalidAccept(header));
  const version = match[1]!;
  const mediaType = match[2]!.toLowerCase();
  if (!mediaTypes.has(mediaType)) throw notAcceptable(hmrcTexts.acceptInvalid);
  const served: readonly string[] = hubVersion === '1.0' ? ['1.0'] : ['2.1', '3.0'];
  if (!served.includes(version)) throw notAcceptable(hmrcTexts.versionInvalid);
  if (mediaType !== 'json') throw notAcceptable(hmrcTexts.acceptInvalid);
  return version as WriteVersion;
}
