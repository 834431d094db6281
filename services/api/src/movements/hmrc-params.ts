import type { Request } from 'express';
import { hmrcBadRequest, hmrcBindingError, hmrcQueryError } from '../http/hmrc-errors.js';
import { maxPageSize, defaultPageSize, type Paging } from '../http/paging.js';
import { parseIsoDateTime, queryValue } from '../http/params.js';

/**
 * Path and query parameters of the HMRC-compatible read routes, bound and refused as HMRC's Play
 * routes bind them (common-transit-convention-traders `conf/app.routes`, models/Bindings.scala,
 * models/Binders.scala), with HMRC's messages and error shapes (http/hmrc-errors.ts).
 */

const hexId = /^[0-9a-f]{16}$/;

/**
 * A movement or message id from the path: 16 lower-case hex characters, as HMRC's
 * `hexBinding`. HMRC's routes name the movement parameter `movementId` for departures and
 * arrivals alike, and its message names the route's parameter, so ours does too.
 */
export function hmrcPathId(request: Request, param: string, hmrcName: string): string {
  const value = request.params[param];
  if (typeof value !== 'string' || !hexId.test(value)) {
    throw hmrcBindingError(
      `${hmrcName}: Value ${String(value)} is not a 16 character hexadecimal string`,
    );
  }
  return value;
}

export interface HmrcDateTime {
  date: Date;
  /** As HMRC's reverse router writes it back (ISO_OFFSET_DATE_TIME of the parsed value). */
  unbound: string;
}

const offsetDateTime =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * An OffsetDateTime query parameter (updatedSince, receivedSince, receivedUntil): an ISO 8601
 * date-time with a zone. Refused with Play's binder message; year 0000 with HMRC's own.
 */
export function hmrcDateTime(request: Request, name: string): HmrcDateTime | undefined {
  const raw = queryValue(request, name);
  if (raw === undefined) return undefined;
  // A `+` the client left unencoded arrives as a space; read it as the `+` it was.
  const text = raw.trim().replace(/ (?=\d{2}(?::?\d{2})?$)/, '+');
  const match = offsetDateTime.exec(text);
  if (match !== null && match[1] === '0000') throw hmrcQueryError('Year cannot be negative');
  const date = match === null ? undefined : parseIsoDateTime(text);
  if (match === null || date === undefined) {
    throw hmrcQueryError(
      `Cannot parse parameter ${name} as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00`,
    );
  }
  const [, y, mo, d, h, mi, s = '00', fraction = '', zone = 'Z'] = match;
  const digits = fraction.replace(/0+$/, '');
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(':', '');
  const offsetText =
    offset === 'Z' || /^[+-]00(00)?$/.test(offset)
      ? 'Z'
      : `${offset.slice(0, 3)}:${offset.length > 3 ? offset.slice(3, 5) : '00'}`;
  return {
    date,
    unbound: `${y}-${mo}-${d}T${h}:${mi}:${s}${digits === '' ? '' : `.${digits}`}${offsetText}`,
  };
}

/** A Long query parameter as Play binds it; refused with Play's message when not a number. */
function hmrcLong(request: Request, name: string): number | undefined {
  const raw = queryValue(request, name);
  if (raw === undefined) return undefined;
  const value = /^[+-]?\d{1,18}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw hmrcQueryError(
      `Cannot parse parameter ${name} as Long: For input string: ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

export interface HmrcPaging extends Paging {
  /** Refuses page/count ≤ 0; HMRC checks this after the Accept header, so callers call it then. */
  ensurePositive: () => void;
}

/** `page` (default 1) and `count` (default 25, above 500 clamped to 500), bound as HMRC binds them. */
export function hmrcPaging(request: Request): HmrcPaging {
  const pageGiven = hmrcLong(request, 'page');
  const countGiven = hmrcLong(request, 'count');
  return {
    page: Math.max(pageGiven ?? 1, 1),
    count: Math.max(Math.min(countGiven ?? defaultPageSize, maxPageSize), 1),
    pageGiven,
    countGiven,
    ensurePositive: () => {
      for (const [name, value] of [
        ['page', pageGiven],
        ['count', countGiven],
      ] as const) {
        if (value !== undefined && value <= 0)
          throw hmrcBadRequest(`The ${name} parameter must be a positive number`);
      }
    },
  };
}

/** Java's URLEncoder (what Play's reverse router uses): only A-Z a-z 0-9 . - * _ stay, space is +. */
export const formEncode = (value: string): string =>
  encodeURIComponent(value)
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

/** `path?a=1&b=2` from the parameters that are set, in HMRC's order, encoded as Play encodes. */
export function hmrcHref(path: string, params: [string, string | number | undefined][]): string {
  const query = params
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${formEncode(String(value))}`)
    .join('&');
  return query === '' ? path : `${path}?${query}`;
}
