import { z } from 'zod';
import { badRequest } from './errors.js';

/**
 * The zod schemas of the API's query and path parameters. Each one both validates (the helpers in
 * params.ts and paging.ts parse through it, so its messages are the 400s clients see, the same
 * as HMRC's, reference §3.2) and documents (the OpenAPI document, src/openapi, is generated from
 * the same objects). A parameter arrives as text: the schemas take the string as sent.
 */

/** The value `schema` gives `value`, or a 400 with the schema's first message. */
export function checked<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'Invalid parameter');
  return parsed.data;
}

/** Free text filter (absent or blank: no filter). */
export const textQuery = (name: string, description: string, maxLength = 200) =>
  z
    .string()
    .max(maxLength, `The ${name} parameter must be at most ${maxLength} characters`)
    .meta({ description });

/** `page` and `count`: HMRC binds them as Long and refuses ≤ 0 and non-numbers alike. */
export const positiveNumberQuery = (name: string, description: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,15}$/, `The ${name} parameter must be a positive number`)
    .refine((value) => Number(value) > 0, `The ${name} parameter must be a positive number`)
    .meta({ description, type: 'integer', minimum: 1, examples: [1] });

export const pageQuery = positiveNumberQuery(
  'page',
  'Page number, from 1 (default 1). A page past the end of a non-empty list is 404.',
);
export const countQuery = positiveNumberQuery(
  'count',
  'Items per page (default 25; more than 500 is read as 500).',
);

const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** A `+` in an unencoded query string arrives as a space; before an offset it was a `+`. */
export const restorePlus = (value: string) => value.trim().replace(/ (?=\d{2}(?::?\d{2})?$)/, '+');

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

export const dateTimeQuery = (name: string, description: string) =>
  z
    .string()
    .refine(
      (value) => parseIsoDateTime(value) !== undefined,
      `Cannot parse parameter ${name} as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00`,
    )
    .meta({ description, format: 'date-time', examples: ['2026-12-01T09:00:00Z'] });

/**
 * An EORI as the hub stores and compares it (upper-case): two letters for the country, then up
 * to 15 letters or digits, such as GB123456789000.
 */
export const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

/** An EORI in a path or query (compared upper-case, so sent in either case). */
export const eoriValue = (message: string, description = 'An EORI such as GB123456789000') =>
  z
    .string()
    .transform((value) => value.toUpperCase())
    .refine((value) => eoriPattern.test(value), message)
    .meta({ description, pattern: eoriPattern.source, examples: ['GB123456789000'] });

/**
 * Ids in ctc-hub's own routes (/v1 movement views, submissions): HMRC's 16 lower-case hex
 * characters, or the small decimal integers of movements recorded from the retired API 1.0.
 * HMRC's read paths accept only the former, with HMRC's error (movements/hmrc-params.ts).
 */
export const hmrcIdPattern = /^(?:[0-9a-f]{16}|[0-9]{1,16})$/;

export const hmrcIdPath = (name: string, description: string) =>
  z
    .string()
    .regex(hmrcIdPattern, {
      error: (issue) =>
        `${name}: Value ${String(issue.input)} is not a 16 character hexadecimal string`,
    })
    .meta({ description, examples: ['62f4ebbb765ba8c2'] });

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => uuidPattern.test(value);

export const uuidPath = (name: string, description: string) =>
  z
    .string()
    .regex(uuidPattern, `${name} must be a UUID`)
    .transform((value) => value.toLowerCase())
    .meta({ description, format: 'uuid' });

export const uuidQuery = (name: string, description: string) =>
  z
    .string()
    .regex(uuidPattern, `The ${name} parameter must be a UUID`)
    .transform((value) => value.toLowerCase())
    .meta({ description, format: 'uuid' });

/** One of `values`; the message lists them. */
export const enumQuery = <const T extends readonly [string, ...string[]]>(
  name: string,
  values: T,
  description: string,
) =>
  z
    .enum(values, { error: `The ${name} parameter must be one of ${values.join(', ')}` })
    .meta({ description });
