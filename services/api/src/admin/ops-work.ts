import type { SubmissionAttempt } from '@ctc-hub/db';
import { jobIds } from '@ctc-hub/queue';
import { sql } from 'kysely';
import type { ApiDeps } from '../deps.js';
import { listTraders } from '../traders/routes.js';

/**
 * What /ops shows of work in flight, and of work that is stuck: declarations waiting, retrying or
 * failed with their age and cause, ingest latency over the last hour, open dead letters by error
 * code, and the traders someone must act for.
 */

/** Declarations listed per state; the counts cover all of them. */
const listedSubmissions = 20;
/** Traders needing action listed; the count covers all of them. */
const listedTraders = 20;

export interface StuckSubmission {
  submissionId: string;
  eori: string;
  messageType: string;
  lrn: string | null;
  /**
   * queued: never tried; retrying: an attempt ended without HMRC taking it; sending: an attempt
   * is under way, or HMRC's answer to an uploaded large declaration is awaited.
   */
  state: 'queued' | 'retrying' | 'sending' | 'failed';
  ageSeconds: number;
  attempts: number;
  /** The last attempt's outcome and error: why it is not through. */
  cause: string | null;
  lastAttemptAt: string | null;
  /** When the queue runs it again (retrying only); null when unknown or due now. */
  nextAttemptAt: string | null;
}

export interface SubmissionsOverview {
  counts: { queued: number; retrying: number; sending: number; failedLastHour: number };
  oldestInFlightAgeSeconds: number;
  stuck: StuckSubmission[];
  failed: StuckSubmission[];
}

/**
 * A declaration is retrying once an attempt has ended without HMRC taking it: its status stays
 * `sending` (or `queued`) across retries, so the last attempt's outcome tells. `uploaded` is a
 * large declaration waiting for HMRC's notification, not a retry.
 */
const settledOutcomes = ['accepted', 'uploaded'];
const isRetrying = (attempts: number, last: SubmissionAttempt | null) =>
  attempts > 0 && last !== null && !settledOutcomes.includes(last.outcome);
const retryingSql = sql`(attempt_count > 0 AND coalesce(attempts -> -1 ->> 'outcome', '') NOT IN ('accepted', 'uploaded'))`;

function causeOf(attempt: SubmissionAttempt | null): string | null {
  if (attempt === null) return null;
  const status = attempt.httpStatus === null ? '' : ` (HTTP ${attempt.httpStatus})`;
  return `${attempt.outcome}${status}${attempt.error === null ? '' : `: ${attempt.error}`}`;
}

/** When each retrying declaration's job runs next; empty when Redis cannot be read. */
async function nextAttempts(deps: ApiDeps, ids: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  const jobs = await Promise.race([
    Promise.all(ids.map((id) => deps.hmrcQueue.getJob(jobIds.submit(id)))),
    new Promise<[]>((resolve) => {
      timer = setTimeout(() => resolve([]), 1000);
    }),
  ])
    .catch(() => [])
    .finally(() => clearTimeout(timer));
  for (const job of jobs) {
    const id = (job?.data as { submissionId?: string } | undefined)?.submissionId;
    if (job === undefined || id === undefined || job.delay <= 0) continue;
    const due = job.timestamp + job.delay;
    if (due > Date.now()) found.set(id, new Date(due).toISOString());
  }
  return found;
}

export async function submissionsOverview(deps: ApiDeps): Promise<SubmissionsOverview> {
  const select = (status: 'in-flight' | 'failed') =>
    sql<{
      id: string;
      eori: string;
      message_type: string;
      lrn: string | null;
      status: string;
      attempt_count: number;
      age: number;
      last: SubmissionAttempt | null;
    }>`
      SELECT id, eori, message_type, lrn, status, attempt_count,
             extract(epoch FROM now() - created_at)::float8 AS age, attempts -> -1 AS last
      FROM submissions
      WHERE ${
        status === 'in-flight'
          ? sql`status IN ('queued', 'sending')`
          : sql`status = 'failed' AND completed_at >= now() - interval '1 hour'`
      }
      ORDER BY created_at ${status === 'in-flight' ? sql`ASC` : sql`DESC`}
      LIMIT ${listedSubmissions}`.execute(deps.db);
  const [inFlight, failed, counts] = await Promise.all([
    select('in-flight'),
    select('failed'),
    sql<{ queued: number; retrying: number; sending: number; failed: number; oldest: number }>`
      SELECT
        count(*) FILTER (WHERE status = 'queued' AND attempt_count = 0)::int AS queued,
        count(*) FILTER (WHERE status IN ('queued', 'sending') AND ${retryingSql})::int AS retrying,
        count(*) FILTER (WHERE status = 'sending' AND NOT ${retryingSql})::int AS sending,
        count(*) FILTER (WHERE status = 'failed' AND completed_at >= now() - interval '1 hour')::int AS failed,
        coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status IN ('queued', 'sending'))), 0)::float8 AS oldest
      FROM submissions
      WHERE status IN ('queued', 'sending')
         OR (status = 'failed' AND completed_at >= now() - interval '1 hour')`.execute(deps.db),
  ]);
  const next = await nextAttempts(
    deps,
    inFlight.rows.filter((row) => isRetrying(row.attempt_count, row.last)).map((row) => row.id),
  );
  const present = (row: (typeof inFlight.rows)[number]): StuckSubmission => ({
    submissionId: row.id,
    eori: row.eori,
    messageType: row.message_type,
    lrn: row.lrn,
    state:
      row.status === 'failed'
        ? 'failed'
        : isRetrying(row.attempt_count, row.last)
          ? 'retrying'
          : row.status === 'sending'
            ? 'sending'
            : 'queued',
    ageSeconds: Math.max(0, Math.round(Number(row.age))),
    attempts: Number(row.attempt_count),
    cause: causeOf(row.last),
    lastAttemptAt: row.last?.at ?? null,
    nextAttemptAt: next.get(row.id) ?? null,
  });
  const total = counts.rows[0]!;
  return {
    counts: {
      queued: Number(total.queued),
      retrying: Number(total.retrying),
      sending: Number(total.sending),
      failedLastHour: Number(total.failed),
    },
    oldestInFlightAgeSeconds: Math.round(Number(total.oldest)),
    stuck: inFlight.rows.map(present),
    failed: failed.rows.map(present),
  };
}

export interface IngestLatency {
  /** Pushed notifications processed in the last hour. */
  count: number;
  /** Receiver accepted → worker committed, seconds; null without notifications. */
  p50Seconds: number | null;
  p99Seconds: number | null;
}

/**
 * Received → stored for pushed notifications processed in the last hour, from the rows
 * themselves (the same span as ctc_ingest_latency_seconds). PPNS created them at most a day
 * before we got them, which keeps the scan to the newest partitions.
 */
export async function ingestLatency(deps: ApiDeps): Promise<IngestLatency> {
  const { rows } = await sql<{ count: number; p50: number | null; p99: number | null }>`
    SELECT count(*)::int AS count,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at))::float8 AS p50,
      percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at))::float8 AS p99
    FROM notifications
    WHERE source = 'push' AND status IN ('stored', 'duplicate')
      AND created_at >= now() - interval '1 day 1 hour'
      AND processed_at >= now() - interval '1 hour'`.execute(deps.db);
  const row = rows[0]!;
  const seconds = (value: number | null) =>
    value === null ? null : Math.max(0, Math.round(Number(value) * 1000) / 1000);
  return { count: Number(row.count), p50Seconds: seconds(row.p50), p99Seconds: seconds(row.p99) };
}

export interface DeadLetterCode {
  kind: string;
  errorCode: string;
  count: number;
  /** Seconds since the newest of them was filed (or failed again). */
  newestAgeSeconds: number;
  /** One of their messages, to show what the code means here. */
  example: string;
}

export async function openDeadLettersByCode(deps: ApiDeps): Promise<DeadLetterCode[]> {
  const rows = await deps.db
    .selectFrom('dead_letters')
    .select([
      'kind',
      'error_code',
      sql<number>`count(*)::int`.as('count'),
      sql<number>`extract(epoch FROM now() - max(updated_at))::float8`.as('newest'),
      sql<string>`(array_agg(error_message ORDER BY updated_at DESC))[1]`.as('example'),
    ])
    .where('status', '=', 'open')
    .groupBy(['kind', 'error_code'])
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('kind')
    .orderBy('error_code')
    .limit(50)
    .execute();
  return rows.map((row) => ({
    kind: row.kind,
    errorCode: row.error_code,
    count: Number(row.count),
    newestAgeSeconds: Math.max(0, Math.round(Number(row.newest))),
    example: row.example.slice(0, 300),
  }));
}

export interface TraderAttention {
  eori: string;
  tokenState: string;
  severity: 'action' | 'warning';
  problem: string;
  fix: string;
  href: string | null;
}

export async function tradersNeedingAction(
  deps: ApiDeps,
): Promise<{ total: number; connected: number; listed: TraderAttention[] }> {
  const traders = await listTraders(deps.db, { eoris: undefined, counts: false });
  const needing = traders.filter((trader) => trader.needsAction);
  return {
    total: needing.length,
    connected: traders.length,
    listed: needing.slice(0, listedTraders).flatMap((trader) =>
      trader.attention.map((entry) => ({
        eori: trader.eori,
        tokenState: trader.tokenState,
        ...entry,
      })),
    ),
  };
}
