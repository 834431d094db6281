import type { RelayStatus } from '@ctc-hub/db';
import type { Request } from 'express';
import { ApiError } from '../http/errors.js';

/**
 * PPNS's query rules for listing a box (PPNS `ValidateNotificationQueryParamsAction`), with its
 * codes and messages: unknown parameter, status, dates (PPNS's lenient
 * `uuuu-MM-dd['T'HH:mm:ss[.SSS][Z]['Z']]`, UTC when no zone is given), fromDate strictly before
 * toDate, count an integer. At most 100 notifications are returned, whatever count asks.
 */

export const ppnsError = (status: number, code: string, message: string) =>
  new ApiError(status, code, message);
const invalidPayload = (message: string) => ppnsError(400, 'INVALID_REQUEST_PAYLOAD', message);

export const maxPerCall = 100;
const allowed = new Set(['status', 'fromDate', 'toDate', 'count']);
const statuses = new Set<string>(['PENDING', 'ACKNOWLEDGED', 'FAILED']);

export interface BoxQuery {
  status?: RelayStatus;
  from?: Date;
  to?: Date;
  limit: number;
}

function first(request: Request, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

const datePattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([+-]\d{4})?Z?)?$/i;

/** PPNS's lenient date; undefined when it cannot be read (or PostgreSQL could not hold it). */
export function parsePpnsQueryDate(text: string): Date | undefined {
  const match = datePattern.exec(text.trim());
  if (match === null) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    return undefined;
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day || day < 1) return undefined;
  const millis = fraction.slice(0, 3).padEnd(3, '0');
  let time = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), Number(millis));
  if (offset !== undefined) {
    const hours = Number(offset.slice(1, 3));
    const minutes = Number(offset.slice(3, 5));
    if (hours > 18 || minutes > 59) return undefined;
    time -= (offset.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  const date = new Date(time);
  return date.getUTCFullYear() >= 1 && date.getUTCFullYear() <= 9999 ? date : undefined;
}

export function parseBoxQuery(request: Request): BoxQuery {
  for (const name of Object.keys(request.query as object)) {
    if (!allowed.has(name)) throw invalidPayload('Invalid / Unknown query parameter provided');
  }
  const query: BoxQuery = { limit: maxPerCall };
  const status = first(request, 'status');
  if (status !== undefined) {
    if (!statuses.has(status.toUpperCase()))
      throw invalidPayload('Invalid Status parameter provided');
    query.status = status.toUpperCase() as RelayStatus;
  }
  for (const [name, key] of [
    ['fromDate', 'from'],
    ['toDate', 'to'],
  ] as const) {
    const text = first(request, name);
    if (text === undefined) continue;
    const date = parsePpnsQueryDate(text);
    if (date === undefined) throw invalidPayload('Unparsable DateValue Param provided');
    query[key] = date;
  }
  if (query.from !== undefined && query.to !== undefined && !(query.from < query.to))
    throw ppnsError(400, 'BAD_REQUEST', 'fromDate parameter is before toDateParameter');
  const count = first(request, 'count');
  if (count !== undefined) {
    // PPNS reads an Int; past int4 or not a number is its 400.
    if (!/^[+-]?\d{1,10}$/.test(count.trim()) || Math.abs(Number(count)) > 2 ** 31 - 1)
      throw invalidPayload('Invalid Count parameter provided');
    // PPNS hands count to MongoDB's limit: a negative n means n, 0 means no limit; we stop at 100.
    const wanted = Math.abs(Number(count));
    if (wanted > 0) query.limit = Math.min(wanted, maxPerCall);
  }
  return query;
}
