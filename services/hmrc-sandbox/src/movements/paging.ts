import { badRequest, notFound } from '../core/errors.js';

/**
 * Query parameters of the CTC list endpoints (reference §3.2): page (default 1) and count
 * (default 25, clamped to 500) must be positive; a page past the end is 404; date-times are
 * ISO-8601 (percent-encoded by the client, so `+` offsets survive).
 */

export const defaultCount = 25;
export const maxCount = 500;

type Query = Record<string, unknown>;

function positive(query: Query, name: 'page' | 'count', fallback: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  const text = String(raw);
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw badRequest(`The ${name} parameter must be a positive number`);
  return value;
}

export function paging(query: Query): { page: number; count: number } {
  return {
    page: positive(query, 'page', 1),
    count: Math.min(maxCount, positive(query, 'count', defaultCount)),
  };
}

const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Epoch ms of an ISO-8601 date-time with zone; 400 when present but not one. */
export function dateTimeParam(query: Query, name: string): number | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  const time = isoDateTime.test(text)
    ? Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
    : Number.NaN;
  if (Number.isNaN(time)) {
    throw badRequest(
      `The ${name} parameter must be an ISO-8601 date-time with a zone, e.g. 2024-05-14T15:26:40Z`,
    );
  }
  return time;
}

export function stringParam(query: Query, name: string): string | undefined {
  const raw = query[name];
  return raw === undefined ? undefined : String(raw);
}

/** One page of `items`; 404 when the page starts past the end (page 1 always exists). */
export function pageOf<T>(items: T[], page: number, count: number): T[] {
  const start = (page - 1) * count;
  if (page > 1 && start >= items.length) throw notFound('The requested page does not exist');
  return items.slice(start, start + count);
}
