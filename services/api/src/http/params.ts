import type { Request } from 'express';
import type { z } from 'zod';
import {
  checked,
  dateTimeQuery,
  eoriPattern,
  hmrcIdPath,
  isUuid,
  parseIsoDateTime,
  restorePlus,
  textQuery,
  uuidPath,
  uuidQuery as uuidQuerySchema,
} from './schemas.js';

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

/** Schemas built once per parameter name: the helpers below run on every request. */
const memo = new Map<string, z.ZodType>();
function schemaFor<S extends z.ZodType>(key: string, build: () => S): S {
  let schema = memo.get(key);
  if (schema === undefined) {
    schema = build();
    memo.set(key, schema);
  }
  return schema as S;
}

/** A text filter: absent and empty are both "no filter". */
export function textParam(request: Request, name: string, maxLength = 200): string | undefined {
  const value = queryValue(request, name)?.trim();
  if (value === undefined || value === '') return undefined;
  return checked(
    schemaFor(`text:${name}:${maxLength}`, () => textQuery(name, name, maxLength)),
    value,
  );
}

export { parseIsoDateTime };

export interface DateTimeParam {
  date: Date;
  /** As the client wrote it, for `_links.self`. */
  raw: string;
}

export function dateTimeParam(request: Request, name: string): DateTimeParam | undefined {
  const raw = queryValue(request, name);
  if (raw === undefined) return undefined;
  checked(
    schemaFor(`date:${name}`, () => dateTimeQuery(name, name)),
    raw,
  );
  return { date: parseIsoDateTime(raw)!, raw: restorePlus(raw) };
}

/**
 * Our timestamps are stored with microseconds but shown with milliseconds. An inclusive upper
 * bound must match what the client saw: `…T10:00:00.123Z` includes a row stored as
 * 10:00:00.123456, so the SQL bound is "before the next millisecond". Lower bounds need no
 * adjustment (a row shown as .123 is stored at or after .123).
 */
export const untilExclusive = (until: Date): Date => new Date(until.getTime() + 1);

export { eoriPattern, isUuid };

export function hmrcIdParam(request: Request, name: string): string {
  return checked(
    schemaFor(`hmrc:${name}`, () => hmrcIdPath(name, name)),
    request.params[name],
  );
}

export function uuidParam(request: Request, name: string): string {
  return checked(
    schemaFor(`uuid:${name}`, () => uuidPath(name, name)),
    request.params[name],
  );
}

/** A UUID query filter (box ids); absent or empty means no filter. */
export function uuidQuery(request: Request, name: string): string | undefined {
  const value = textParam(request, name);
  if (value === undefined) return undefined;
  return checked(
    schemaFor(`uuidq:${name}`, () => uuidQuerySchema(name, name)),
    value,
  );
}

/** Builds `path?a=1&b=2` from the parameters that are set, in the given order. */
export function withQuery(path: string, params: [string, string | number | undefined][]): string {
  const query = params
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
    .join('&');
  return query === '' ? path : `${path}?${query}`;
}
