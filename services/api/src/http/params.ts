import type { Request } from 'express';
import { badRequest } from './errors.js';

/**
 * Query and path parameters of the read API, validated the way HMRC's CTC Traders API v2.1
 * validates them (reference §3.2), with the same error messages, so a client written against
 * HMRC sees the same 400s from us.
 */

/**
 * First value of a query parameter. The app uses the 'simple' query parser, so a repeated
 * parameter arrives as an array; like Play's binder HMRC uses, we take the first.
 */
export function queryValue(request: Request, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** A text filter: absent and empty are both "no filter". */
export function textParam(request: Request, name: string, maxLength = 200): string | undefined {
  const value = queryValue(request, name)?.trim();
  if (value === undefined || value === '') return undefined;
  if (value.length > maxLength)
    throw badRequest(`The ${name} parameter must be at most ${maxLength} characters`);
  return value;
}

const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** A `+` in an unencoded query string arrives as a space; before an offset it was a `+`. */
const restorePlus = (value: string) => value.trim().replace(/ (?=\d{2}(?::?\d{2})?$)/, '+');

/**
 * An ISO 8601 date-time with a zone (HMRC parses with OffsetDateTime.parse, which requires one),
 * e.g. 2021-06-21T09:00:00Z or 2021-06-21T09:00:00.123+01:00. Fractions beyond milliseconds are
 * dropped. Leniency: a `+` that the client forgot to percent-encode arrives as a space, and is
 * read as the `+` it was.
 */
export function parseIsoDateTime(value: string): Date | undefined {
  const match = dateTimePattern.exec(restorePlus(value));
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second = '00', fraction = '', zone = 'Z'] = match;
  const [y, mo, d, h, mi, s] = [
    Number(year),
    Number(month),
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  ];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined;
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMins = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (offsetHours > 18 || offsetMins > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const millis = Number((fraction.slice(1) + '000').slice(0, 3));
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, millis) - offsetMinutes * 60_000;
  // Date.UTC maps years 0..99 to 1900..1999; such dates are garbage for us anyway.
  if (y < 1000 || !Number.isFinite(utc)) return undefined;
  return new Date(utc);
}

export interface DateTimeParam {
  date: Date;
  /** As the client wrote it, for `_links.self`. */
  raw: string;
}

export function dateTimeParam(request: Request, name: string): DateTimeParam | undefined {
  const raw = queryValue(request, name);
  if (raw === undefined) return undefined;
  const date = parseIsoDateTime(raw);
  if (date === undefined) {
    throw badRequest(
      `Cannot parse parameter ${name} as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00`,
    );
  }
  return { date, raw: restorePlus(raw) };
}

/**
 * Our timestamps are stored with microseconds but shown with milliseconds. An inclusive upper
 * bound must match what the client saw: `…T10:00:00.123Z` includes a row stored as
 * 10:00:00.123456, so the SQL bound is "before the next millisecond". Lower bounds need no
 * adjustment (a row shown as .123 is stored at or after .123).
 */
export const untilExclusive = (until: Date): Date => new Date(until.getTime() + 1);

/**
 * An EORI as the hub stores and compares it (upper-case): two letters for the country, then up
 * to 15 letters or digits, such as GB123456789000.
 */
export const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

/**
 * Ids in ctc-hub's own routes (/v1 movement views, submissions): HMRC's 16 lower-case hex
 * characters, or the small decimal integers of movements recorded from the retired API 1.0.
 * HMRC's read paths accept only the former, with HMRC's error (movements/hmrc-params.ts).
 */
const hmrcIdPattern = /^(?:[0-9a-f]{16}|[0-9]{1,16})$/;

export function hmrcIdParam(request: Request, name: string): string {
  const value = request.params[name];
  if (typeof value !== 'string' || !hmrcIdPattern.test(value)) {
    throw badRequest(`${name}: Value ${String(value)} is not a 16 character hexadecimal string`);
  }
  return value;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => uuidPattern.test(value);

export function uuidParam(request: Request, name: string): string {
  const value = request.params[name];
  if (typeof value !== 'string' || !isUuid(value)) throw badRequest(`${name} must be a UUID`);
  return value.toLowerCase();
}

/** A UUID query filter (box ids); absent or empty means no filter. */
export function uuidQuery(request: Request, name: string): string | undefined {
  const value = textParam(request, name);
  if (value === undefined) return undefined;
  if (!isUuid(value)) throw badRequest(`The ${name} parameter must be a UUID`);
  return value.toLowerCase();
}

/** Builds `path?a=1&b=2` from the parameters that are set, in the given order. */
export function withQuery(path: string, params: [string, string | number | undefined][]): string {
  const query = params
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
    .join('&');
  return query === '' ? path : `${path}?${query}`;
}
