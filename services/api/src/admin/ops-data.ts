import { listConnections } from '@ctc-hub/db';
import { pacerKey, RatePacer, spacingFor } from '@ctc-hub/queue';
import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import type { ApiDeps } from '../deps.js';
import { queueStates, type OpsData, type QueueOverview, type QueueState } from './ops-types.js';
import { verdictOf } from './ops-verdict.js';
import {
  ingestLatency,
  openDeadLettersByCode,
  submissionsOverview,
  tradersNeedingAction,
} from './ops-work.js';

export { queueStates, type OpsData, type QueueOverview, type QueueState } from './ops-types.js';

const reconcileScopeLimit = 100;

const delayedSample = 100;

async function queueOverview(queue: Queue): Promise<QueueOverview> {
  const [counts, oldest, delayed] = await Promise.all([
    queue.getJobCounts(...queueStates),
    queue.getJobs(['wait', 'prioritized'], 0, 0, true),
    queue.getJobs(['delayed'], 0, delayedSample - 1, true),
  ]);
  const now = Date.now();
  const oldestAt = Math.min(...oldest.map((job) => job.timestamp));
  const dues = delayed.map((job) => job.timestamp + job.delay).filter((due) => due > now);
  return {
    name: queue.name,
    counts: Object.fromEntries(queueStates.map((state) => [state, counts[state] ?? 0])) as Record<
      QueueState,
      number
    >,
    oldestWaitingAgeSeconds:
      oldest.length === 0 ? 0 : Math.max(0, Math.round((now - oldestAt) / 1000)),
    delayed: {
      oldestAgeSeconds:
        delayed.length === 0
          ? 0
          : Math.max(
              0,
              Math.round((now - Math.min(...delayed.map((job) => job.timestamp))) / 1000),
            ),
      retrying: delayed.filter((job) => job.attemptsMade > 0).length,
      nextDueInSeconds: dues.length === 0 ? null : Math.round((Math.min(...dues) - now) / 1000),
    },
  };
}

/** How long /ops waits for Redis before saying it cannot read the queues. */
const queueReadTimeoutMs = 2000;

async function queueOverviews(
  deps: ApiDeps,
): Promise<{ queues: QueueOverview[]; queueError: string | null }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const queues = await Promise.race([
      Promise.all([deps.ingestQueue, deps.hmrcQueue, deps.opsQueue].map(queueOverview)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer from Redis within ${queueReadTimeoutMs} ms`)),
          queueReadTimeoutMs,
        );
      }),
    ]);
    return { queues, queueError: null };
  } catch (error) {
    deps.logger.warn({ err: error }, '/ops could not read the queues');
    return { queues: [], queueError: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Per-minute counts for the hour ending with the database's current minute, gaps filled with 0. */
async function throughput(deps: ApiDeps): Promise<OpsData['throughput']> {
  const { rows } = await sql<{ current: Date; minute: Date | null; count: number }>`
    WITH bounds AS (SELECT date_trunc('minute', now()) AS current)
    SELECT bounds.current, date_trunc('minute', events.created_at) AS minute,
           count(events.created_at)::int AS count
    FROM bounds
    LEFT JOIN events ON events.kind = 'message.received'
                    AND events.created_at >= bounds.current - interval '59 minutes'
    GROUP BY 1, 2`.execute(deps.db);
  const current = rows[0]?.current.getTime() ?? Math.floor(Date.now() / 60_000) * 60_000;
  const byMinute = new Map(
    rows.filter((row) => row.minute !== null).map((row) => [row.minute!.getTime(), row.count]),
  );
  const minutes = Array.from({ length: 60 }, (_, index) => {
    const at = current - (59 - index) * 60_000;
    return { minute: new Date(at).toISOString(), count: Number(byMinute.get(at) ?? 0) };
  });
  return { minutes, total: minutes.reduce((sum, minute) => sum + minute.count, 0) };
}

async function deadLetters(deps: ApiDeps): Promise<OpsData['deadLetters']> {
  const byCode = openDeadLettersByCode(deps);
  const rows = await deps.db
    .selectFrom('dead_letters')
    .select(['kind', 'status', sql<number>`count(*)::int`.as('count')])
    .groupBy(['kind', 'status'])
    .orderBy('kind')
    .orderBy('status')
    .execute();
  const byKind = rows.map((row) => ({ ...row, count: Number(row.count) }));
  return {
    byKind,
    byCode: await byCode,
    open: byKind.filter((row) => row.status === 'open').reduce((sum, row) => sum + row.count, 0),
  };
}

async function reconciliation(deps: ApiDeps): Promise<OpsData['reconciliation']> {
  // Stalest first: the scopes an operator has to look at come before the healthy ones.
  const [rows, totals] = await Promise.all([
    deps.db
      .selectFrom('reconcile_state')
      .select([
        'scope',
        'kind',
        'last_run_at',
        'last_success_at',
        'last_error',
        'runs',
        'recovered',
        sql<number | null>`extract(epoch from now() - last_success_at)`.as('age'),
      ])
      .orderBy(sql`last_success_at ASC NULLS FIRST`)
      .orderBy('scope')
      .limit(reconcileScopeLimit)
      .execute(),
    deps.db
      .selectFrom('reconcile_state')
      .select([
        sql<number>`count(*)::int`.as('total'),
        sql<number>`coalesce(sum(recovered), 0)::bigint`.as('recovered'),
      ])
      .executeTakeFirstOrThrow(),
  ]);
  return {
    scopes: rows.map((row) => ({
      scope: row.scope,
      kind: row.kind,
      lastRunAt: row.last_run_at?.toISOString() ?? null,
      lastSuccessAt: row.last_success_at?.toISOString() ?? null,
      lastSuccessAgeSeconds: row.age === null ? null : Math.round(Number(row.age)),
      lastError: row.last_error,
      runs: Number(row.runs),
      recovered: Number(row.recovered),
    })),
    total: Number(totals.total),
    recovered: Number(totals.recovered),
  };
}

async function hmrcBudget(deps: ApiDeps): Promise<OpsData['hmrcBudget']> {
  const limitPerSecond = deps.config.HMRC_RATE_LIMIT_PER_SECOND;
  const spacing = spacingFor(limitPerSecond);
  const pacer = new RatePacer(deps.redis, pacerKey(deps.config.QUEUE_PREFIX), spacing);
  const calls = await pacer.callsPerMinute(60);
  const budgetPerMinute = limitPerSecond * 60;
  const minutes = calls.map((entry) => ({
    minute: entry.minute.toISOString(),
    count: entry.calls,
  }));
  return {
    limitPerSecond,
    budgetPerMinute,
    pacedPerMinute: Math.floor(60_000 / spacing),
    minutes,
    peakUse: Math.max(0, ...minutes.map((minute) => minute.count)) / budgetPerMinute,
  };
}

async function connections(deps: ApiDeps): Promise<OpsData['connections']> {
  const rows = await listConnections(deps.db);
  return {
    total: rows.length,
    attention: rows
      .filter(
        (row) =>
          row.verification === 'mismatched' || (row.verification === 'unverified' && !row.vouched),
      )
      .map((row) => ({
        eori: row.eori,
        verification: row.verification,
        observedEori: row.observedEori,
        since: (row.mismatchAt ?? row.consentedAt).toISOString(),
        quarantinedMovements: row.quarantinedMovements,
      })),
  };
}

export async function collectOpsData(deps: ApiDeps): Promise<OpsData> {
  const [queues, hourly, letters, reconcile, budget, traders, submissions, latency, attention] =
    await Promise.all([
      queueOverviews(deps),
      throughput(deps),
      deadLetters(deps),
      reconciliation(deps),
      hmrcBudget(deps).catch(() => emptyBudget(deps)),
      connections(deps),
      submissionsOverview(deps),
      ingestLatency(deps),
      tradersNeedingAction(deps),
    ]);
  const data = {
    generatedAt: new Date().toISOString(),
    ...queues,
    submissions,
    ingestLatency: latency,
    traders: attention,
    throughput: hourly,
    deadLetters: letters,
    reconciliation: reconcile,
    hmrcBudget: budget,
    connections: traders,
  };
  return { ...data, verdict: verdictOf(data) };
}

/** The budget without its per-minute counts, when Redis (where the pacer counts) cannot be read. */
function emptyBudget(deps: ApiDeps): OpsData['hmrcBudget'] {
  const limitPerSecond = deps.config.HMRC_RATE_LIMIT_PER_SECOND;
  return {
    limitPerSecond,
    budgetPerMinute: limitPerSecond * 60,
    pacedPerMinute: Math.floor(60_000 / spacingFor(limitPerSecond)),
    minutes: [],
    peakUse: 0,
  };
}

/**
 * Shares one collection among the requests of a short window, so many open tabs refreshing at
 * once cost one set of queries, and concurrent requests wait for the same answer.
 */
export function cachedOpsData(deps: ApiDeps, maxAgeMs = 2000): () => Promise<OpsData> {
  let last: { at: number; data: OpsData } | undefined;
  let inFlight: Promise<OpsData> | undefined;
  return () => {
    if (last !== undefined && Date.now() - last.at < maxAgeMs) return Promise.resolve(last.data);
    inFlight ??= collectOpsData(deps)
      .then((data) => {
        last = { at: Date.now(), data };
        return data;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
