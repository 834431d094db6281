import { deadLetterKinds, type DeadLetterKind, type DeadLetterStatus } from '@ctc-hub/db';
import { z } from 'zod';
import type { Request } from 'express';
import { eoriFilter, type ApiPrincipal } from '../http/auth.js';
import { ApiError, badRequest } from '../http/errors.js';
import { textProblem } from '../http/input-guard.js';
import { isUuid, parseIsoDateTime, untilExclusive } from '../http/params.js';
import type { DeadLetterFilter } from './queries.js';

/**
 * The JSON filter of a bulk replay or purge: the list's query parameters, as a body. Unknown
 * fields are refused: a misspelt `errrorCode` silently ignored would widen the set acted on.
 */
const storable = (value: string, context: z.RefinementCtx) => {
  // The filter is compared with text columns and kept in jsonb (replays, audit_log): both refuse
  // NUL, and jsonb refuses an unpaired surrogate.
  const problem = textProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
};
const text = z.string().trim().min(1).max(200).superRefine(storable);
export const bulkActionBody = z
  .object({
    kind: text.optional(),
    errorCode: text.optional(),
    from: text.optional(),
    to: text.optional(),
    boxId: text.optional(),
    eori: text.optional(),
    status: z.enum(['open', 'replayed', 'resolved', 'purged']).optional(),
    dryRun: z.boolean().optional(),
    confirmation: z.string().min(1).max(4096).superRefine(storable).optional(),
  })
  .strict();

export type BulkActionBody = z.infer<typeof bulkActionBody>;

/**
 * The filter in one canonical form (fixed key order, normalised values, absent keys left out):
 * what the confirmation binds, what the replay records, and what audit entries show.
 */
export interface CanonicalFilter {
  kind?: string;
  errorCode?: string;
  from?: string;
  to?: string;
  boxId?: string;
  eori?: string;
  status: DeadLetterStatus;
}

function isoField(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = parseIsoDateTime(value);
  if (date === undefined)
    throw badRequest(
      `Cannot parse ${name} as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00`,
    );
  return date.toISOString();
}

/** Names people reach for, mapped to the kind the pipeline files (the API calls them submissions). */
const kindAliases: Record<string, DeadLetterKind> = { submission: 'submit' };

/**
 * A `kind` filter as the pipeline files it: a known kind or an alias of one; anything else is a
 * 400 listing the kinds, since a misspelt kind would otherwise match nothing (or, in a bulk action,
 * act on nothing) without a word.
 */
export function deadLetterKind(value: string | undefined): DeadLetterKind | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  const kind = deadLetterKinds.find((candidate) => candidate === lower) ?? kindAliases[lower];
  if (kind === undefined)
    throw badRequest(
      `The kind parameter must be one of ${deadLetterKinds.join(', ')} (submission is taken for submit); got ${JSON.stringify(value.slice(0, 50))}`,
    );
  return kind;
}

/** Validates and normalises a filter; `status` defaults to open. */
export function canonicalFilter(body: BulkActionBody): CanonicalFilter {
  if (body.boxId !== undefined && !isUuid(body.boxId)) throw badRequest('boxId must be a UUID');
  const from = isoField('from', body.from);
  const to = isoField('to', body.to);
  const entries: [keyof CanonicalFilter, string | undefined][] = [
    ['kind', deadLetterKind(body.kind)],
    ['errorCode', body.errorCode],
    ['from', from],
    ['to', to],
    ['boxId', body.boxId?.toLowerCase()],
    ['eori', body.eori?.toUpperCase()],
    ['status', body.status ?? 'open'],
  ];
  return Object.fromEntries(
    entries.filter((entry) => entry[1] !== undefined),
  ) as unknown as CanonicalFilter;
}

/** The query filter for a canonical filter, limited to what the key may see. */
export function queryFilter(filter: CanonicalFilter, principal: ApiPrincipal): DeadLetterFilter {
  return {
    eoris: eoriFilter(principal),
    status: filter.status,
    ...(filter.kind !== undefined && { kind: filter.kind }),
    ...(filter.errorCode !== undefined && { errorCode: filter.errorCode }),
    ...(filter.from !== undefined && { from: new Date(filter.from) }),
    ...(filter.to !== undefined && { before: untilExclusive(new Date(filter.to)) }),
    ...(filter.boxId !== undefined && { boxId: filter.boxId }),
    ...(filter.eori !== undefined && { eori: filter.eori }),
  };
}

/**
 * A key's share of the replay pacer: every running replay gets an equal turn at
 * REPLAY_RATE_PER_SECOND (services/worker/src/dead-letters/replay.ts), so a key allowed any number of
 * replays could take nearly all of it. 429 because the limit is the client's own; the replays
 * already running end by themselves, GET /v1/replays/{id} shows how far they are.
 */
export function replayLimitError(max: number): ApiError {
  return new ApiError(
    429,
    'KEY_LIMIT_REACHED',
    `This API key already has ${max} replays running, the most it may have at once: wait for ` +
      'one to finish (GET /v1/replays/{id}) and try again',
    { limit: 'replays-running', max },
    { 'Retry-After': '5' },
  );
}

/** A JSON body checked against `schema`; 400 naming the first problem. */
export function parseBody<S extends z.ZodType>(schema: S, request: Request): z.infer<S> {
  const parsed = schema.safeParse(request.body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue !== undefined && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw badRequest(`Invalid request body: ${where}${issue?.message ?? 'not a JSON object'}`);
  }
  return parsed.data;
}
