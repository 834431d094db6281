import type { Db, SubmissionAttempt } from '@ctc-hub/db';
import { sql } from 'kysely';

/**
 * What the hub has done for each trader (EORI), read in a handful of grouped queries whatever the
 * number of traders: movements, submissions by status, dead letters, the reconciliation scopes of
 * the EORI and its latest submission attempt (one of the calls made to HMRC for it).
 */

export interface ReconcileScopeRow {
  scope: string;
  movementType: string;
  lastRunAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  recovered: number;
}

export interface LastAttemptRow {
  submissionId: string;
  messageType: string;
  attempt: SubmissionAttempt;
}

export interface TraderActivity {
  movements: number;
  submissions: Record<string, number>;
  deadLetters: { open: number; total: number };
  reconciliation: ReconcileScopeRow[];
  lastAttempt: LastAttemptRow | null;
}

const emptyActivity = (): TraderActivity => ({
  movements: 0,
  submissions: {},
  deadLetters: { open: 0, total: 0 },
  reconciliation: [],
  lastAttempt: null,
});

/**
 * `counts: false` reads only what decides whether a trader needs action (reconciliation and the
 * last attempt), for /ops, which refreshes every 15 s: counting every trader's movements that
 * often would cost more than the page is worth.
 */
export async function traderActivity(
  db: Db,
  eoris: readonly string[],
  options: { counts?: boolean } = {},
): Promise<Map<string, TraderActivity>> {
  const result = new Map(eoris.map((eori) => [eori, emptyActivity()]));
  if (eoris.length === 0) return result;
  const list = [...eoris];
  const counts = options.counts ?? true;
  const none = Promise.resolve([]);
  const scopes = list.flatMap((eori) => [`ctc:${eori}:departure`, `ctc:${eori}:arrival`]);
  const [movements, submissions, letters, reconcile, attempts] = await Promise.all([
    // Each EORI's movements, as a scoped key sees them (its enrolment or the declaration names
    // it; quarantined ones are not its own until an operator says so).
    !counts
      ? { rows: [] }
      : sql<{ eori: string; count: number }>`
      SELECT e.eori, (SELECT count(*) FROM movements m
                      WHERE (m.enrollment_eori = e.eori OR m.movement_eori = e.eori)
                        AND m.quarantined_at IS NULL)::int AS count
      FROM unnest(${list}::text[]) AS e(eori)`.execute(db),
    !counts
      ? none
      : db
          .selectFrom('submissions')
          .select(['eori', 'status', sql<number>`count(*)::int`.as('count')])
          .where('eori', '=', sql<string>`any(${list}::text[])`)
          .groupBy(['eori', 'status'])
          .execute(),
    !counts
      ? none
      : db
          .selectFrom('dead_letters')
          .select([
            'eori',
            sql<number>`count(*) FILTER (WHERE status = 'open')::int`.as('open'),
            sql<number>`count(*) FILTER (WHERE status <> 'purged')::int`.as('total'),
          ])
          .where('eori', '=', sql<string>`any(${list}::text[])`)
          .groupBy('eori')
          .execute(),
    db
      .selectFrom('reconcile_state')
      .select(['scope', 'last_run_at', 'last_success_at', 'last_error', 'recovered'])
      .where('scope', '=', sql<string>`any(${scopes}::text[])`)
      .orderBy('scope')
      .execute(),
    sql<{ eori: string; id: string; message_type: string; attempt: SubmissionAttempt }>`
      SELECT DISTINCT ON (eori) eori, id, message_type, attempts -> -1 AS attempt
      FROM submissions
      WHERE eori = any(${list}::text[]) AND jsonb_array_length(attempts) > 0
      ORDER BY eori, updated_at DESC`.execute(db),
  ]);
  for (const row of movements.rows) result.get(row.eori)!.movements = Number(row.count);
  for (const row of submissions) result.get(row.eori)!.submissions[row.status] = Number(row.count);
  for (const row of letters)
    if (row.eori !== null)
      result.get(row.eori)!.deadLetters = { open: Number(row.open), total: Number(row.total) };
  for (const row of reconcile) {
    const [, eori, movementType] = row.scope.split(':');
    result.get(eori!)?.reconciliation.push({
      scope: row.scope,
      movementType: movementType ?? '',
      lastRunAt: row.last_run_at,
      lastSuccessAt: row.last_success_at,
      lastError: row.last_error,
      recovered: Number(row.recovered),
    });
  }
  for (const row of attempts.rows)
    result.get(row.eori)!.lastAttempt = {
      submissionId: row.id,
      messageType: row.message_type,
      attempt: row.attempt,
    };
  return result;
}
