import { badRequest, BinderError, notFound } from '../core/errors.js';

/**
 * Query parameters of the CTC list endpoints (reference §3.2), bound as HMRC's Play routes bind
 * them: page (default 1) and count (default 25, clamped to 500) are Longs, refused with Play's
 * message when not numbers and with HMRC's when not positive; a page past the end is 404;
 * date-times are ISO-8601 with a zone (percent-encoded by the client, so `+` offsets survive).
 */

export const defaultCount = 25;
export const maxCount = 500;

type Query = Record<string, unknown>;

/** A Long query parameter as Play binds it (HMRC checks > 0 later, in the controller). */
function long(query: Query, name: 'page' | 'count'): number | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  const value = /^[+-]?\d{1,18}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value))
    throw new BinderError(
      `Cannot parse parameter ${name} as Long: For input string: ${JSON.stringify(text)}`,
      'query',
    );
  return value;
}

export interface Paging {
  page: number;
  count: number;
  pageGiven: number | undefined;
  countGiven: number | undefined;
  /** HMRC's controller check, after the Accept header. */
  ensurePositive: () => void;
}

export function paging(query: Query): Paging {
  const pageGiven = long(query, 'page');
  const countGiven = long(query, 'count');
  return {
    page: Math.max(pageGiven ?? 1, 1),
    count: Math.max(1, Math.min(maxCount, countGiven ?? defaultCount)),
    pageGiven,
    countGiven,
    ensurePositive: () => {
      if (pageGiven !== undefined && pageGiven <= 0)
        throw badRequest('The page parameter must be a positive number');
      if (countGiven !== undefined && countGiven <= 0)
        throw badRequest('The count parameter must be a positive number');
    },
  };
}

const isoDateTime =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)$/;

export interface DateTimeParam {
  time: number;
  /** As HMRC's reverse router writes it back: ISO_OFFSET_DATE_TIME of the parsed value. */
  unbound: string;
}

/** An OffsetDateTime query parameter; refused as Play's binder refuses it. */
export function dateTimeParam(query: Query, name: string): DateTimeParam | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  const match = isoDateTime.exec(text);
  if (match?.[1] === '0000') throw new BinderError('Year cannot be negative', 'query');
  const [, y, mo, d, h, mi, s = '00', fraction = '', zone = 'Z'] = match ?? [];
  const offset =
    zone.toUpperCase() === 'Z'
      ? '+00:00'
      : zone.length === 3
        ? `${zone}:00`
        : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${(fraction + '000').slice(0, 3)}${offset}`;
  const time = match === null ? Number.NaN : Date.parse(iso);
  const valid =
    !Number.isNaN(time) &&
    new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDate() === Number(d);
  if (!valid) {
    throw new BinderError(
      `Cannot parse parameter ${name} as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00`,
      'query',
    );
  }
  const digits = fraction.replace(/0+$/, '');
  const zoneText = /^[+-]00:00$/.test(offset) ? 'Z' : offset;
  return {
    time,
    unbound: `${y}-${mo}-${d}T${h}:${mi}:${s}${digits === '' ? '' : `.${digits}`}${zoneText}`,
  };
}

export function stringParam(query: Query, name: string): string | undefined {
  const raw = query[name];
  return raw === undefined ? undefined : String(raw);
}

/** Java's URLEncoder, as Play's reverse router encodes query values. */
const formEncode = (value: string): string =>
  encodeURIComponent(value)
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

/** HMRC's `_links.self` of a list: its reverse route, with the query in HMRC's parameter order. */
export function selfHref(path: string, params: [string, string | number | undefined][]): string {
  const query = params
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${formEncode(String(value))}`)
    .join('&');
  return query === '' ? path : `${path}?${query}`;
}

/** One page of `items`; 404 when the page starts past the end (page 1 always exists). */
export function pageOf<T>(items: T[], page: number, count: number): T[] {
  const start = (page - 1) * count;
  if (page > 1 && start >= items.length) throw notFound('The requested page does not exist');
  return items.slice(start, start + count);
}
