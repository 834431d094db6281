import type { OpsData, Verdict, VerdictLevel, VerdictReason } from './ops-types.js';

export type { Verdict, VerdictLevel, VerdictReason } from './ops-types.js';

/**
 * The one-line answer at the top of /ops: is it working? `down` when messages cannot flow at all
 * (Redis unreadable, or the ingest backlog old and nothing processing it), `degraded` when
 * something is stuck or someone must act, `healthy` otherwise, each with its reasons, worst first,
 * and where on the page to look. The thresholds are the alert rules' (infra/prometheus), so the
 * page and the pager agree.
 */

/** CtcIngestBacklogOld, CtcQueueBacklogOld and CtcReconciliationStale, in seconds. */
export const thresholds = {
  ingestBacklogSeconds: 120,
  ingestStalledSeconds: 600,
  queueBacklogSeconds: 900,
  reconcileStaleSeconds: 900,
  /** A declaration not through after this long is stuck, whatever its state. */
  submissionStuckSeconds: 300,
  /** Ingest p99 above this (seconds) over the last hour is slow. */
  ingestP99Seconds: 30,
} as const;

const plural = (count: number, one: string, many = `${one}s`) =>
  `${count} ${count === 1 ? one : many}`;

function ageText(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function verdictOf(data: Omit<OpsData, 'verdict'>): Verdict {
  const reasons: VerdictReason[] = [];
  const add = (level: VerdictReason['level'], text: string, anchor: string) =>
    reasons.push({ level, text, anchor });

  if (data.queueError !== null)
    add(
      'down',
      `The queues cannot be read (${data.queueError}): nothing is ingested or sent.`,
      'queues-heading',
    );
  for (const queue of data.queues) {
    const age = queue.oldestWaitingAgeSeconds;
    if (
      queue.name === 'ingest' &&
      age > thresholds.ingestStalledSeconds &&
      queue.counts.active === 0
    )
      add(
        'down',
        `Ingest has stalled: notifications have waited ${ageText(age)} and no worker is processing them.`,
        'queues-heading',
      );
    else if (queue.name === 'ingest' && age > thresholds.ingestBacklogSeconds)
      add(
        'degraded',
        `Ingest is behind: the oldest notification has waited ${ageText(age)}.`,
        'queues-heading',
      );
    else if (queue.name !== 'ingest' && age > thresholds.queueBacklogSeconds)
      add(
        'degraded',
        `The ${queue.name} queue is behind: its oldest job has waited ${ageText(age)}.`,
        'queues-heading',
      );
  }

  const { counts, stuck } = data.submissions;
  const stuckLong = stuck.filter(
    (submission) =>
      submission.state === 'retrying' || submission.ageSeconds > thresholds.submissionStuckSeconds,
  );
  if (stuckLong.length > 0) {
    const first = stuckLong[0]!;
    add(
      'degraded',
      `${plural(counts.retrying, 'declaration')} retrying` +
        (counts.queued + counts.sending > 0
          ? `, ${counts.queued + counts.sending} more waiting`
          : '') +
        `; the oldest for ${ageText(Math.max(...stuckLong.map((s) => s.ageSeconds)))}` +
        (first.cause === null ? '.' : ` (${first.eori}: ${first.cause.slice(0, 300)}).`),
      'submissions-heading',
    );
  }
  if (counts.failedLastHour > 0)
    add(
      'degraded',
      `${plural(counts.failedLastHour, 'declaration')} failed in the last hour.`,
      'submissions-heading',
    );

  const broken = data.traders.listed.filter((entry) => entry.severity === 'action');
  const brokenEoris = [...new Set(broken.map((entry) => entry.eori))];
  if (brokenEoris.length > 0)
    add(
      'degraded',
      `${plural(brokenEoris.length, 'trader')} cannot be served until someone acts (${brokenEoris.slice(0, 3).join(', ')}${brokenEoris.length > 3 ? ', …' : ''}).`,
      'traders-heading',
    );

  // Old open letters are a backlog to work through, not a sign that something is wrong now.
  const recent = data.deadLetters.byCode.filter((code) => code.newestAgeSeconds < 3600);
  if (recent.length > 0)
    add(
      'degraded',
      `Dead letters filed in the last hour: ${recent
        .slice(0, 3)
        .map((code) => `${code.errorCode} (${code.kind})`)
        .join(', ')}${recent.length > 3 ? ', …' : ''}.`,
      'dead-letters-heading',
    );

  const stale = data.reconciliation.scopes.filter(
    (scope) =>
      scope.lastSuccessAgeSeconds === null ||
      scope.lastSuccessAgeSeconds > thresholds.reconcileStaleSeconds,
  );
  if (stale.length > 0 && data.reconciliation.total > 0)
    add(
      'degraded',
      `Reconciliation is stale for ${plural(stale.length, 'scope')} (${stale[0]!.scope}${stale[0]!.lastError === null ? '' : `: ${stale[0]!.lastError.slice(0, 120)}`}).`,
      'reconciliation-heading',
    );

  const p99 = data.ingestLatency.p99Seconds;
  if (p99 !== null && p99 > thresholds.ingestP99Seconds)
    add(
      'degraded',
      `Ingest is slow: p99 ${p99.toFixed(1)} s over the last hour.`,
      'latency-heading',
    );

  if (data.hmrcBudget.peakUse > 1)
    add(
      'degraded',
      `HMRC calls exceeded the rate budget in a minute of the last hour (${Math.round(data.hmrcBudget.peakUse * 100)}%).`,
      'budget-heading',
    );

  const level: VerdictLevel = reasons.some((reason) => reason.level === 'down')
    ? 'down'
    : reasons.length > 0
      ? 'degraded'
      : 'healthy';
  return {
    level,
    reasons: [
      ...reasons.filter((r) => r.level === 'down'),
      ...reasons.filter((r) => r.level !== 'down'),
    ],
  };
}
