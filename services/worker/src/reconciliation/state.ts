import type { Db } from '@ctc-hub/db';
import type { MovementType } from '@ctc-hub/ppns';
import { sql } from 'kysely';

/**
 * reconcile_state: one row per scope, `ppns:<boxId>` (PPNS pull) or `ctc:<eori>:<type>` (the CTC
 * sweep). Every write is a single statement, so ticks, pulls and sweeps on several replicas can
 * update a scope at the same time without reading it first.
 */

export type ReconcileKind = 'ppns' | 'ctc';

export const ppnsScope = (boxId: string): string => `ppns:${boxId}`;
export const ctcScope = (eori: string, movementType: MovementType): string =>
  `ctc:${eori}:${movementType}`;

export const kindOfScope = (scope: string): ReconcileKind =>
  scope.startsWith('ppns:') ? 'ppns' : 'ctc';

export interface ClaimedScope {
  scope: string;
  /** Where the last completed run ended; null before the first one. */
  highWaterMark: Date | null;
  /** The database's clock when the scope was claimed (one clock for every replica). */
  claimedAt: Date;
}

/**
 * Claims the scopes not run for `dueAfterSeconds`: creates missing rows and moves last_run_at to
 * now() in one conditional upsert, so of two ticks racing for a scope exactly one gets it back.
 */
export async function claimDueScopes(
  db: Db,
  kind: ReconcileKind,
  scopes: readonly string[],
  dueAfterSeconds: number,
): Promise<ClaimedScope[]> {
  if (scopes.length === 0) return [];
  const { rows } = await sql<{ scope: string; high_water_mark: Date | null; last_run_at: Date }>`
    INSERT INTO reconcile_state (scope, kind, last_run_at)
    SELECT scope, ${kind}, now() FROM unnest(${[...scopes]}::text[]) AS scope
    ON CONFLICT (scope) DO UPDATE SET last_run_at = now(), updated_at = now()
    WHERE reconcile_state.last_run_at IS NULL
       OR reconcile_state.last_run_at <= now() - make_interval(secs => ${dueAfterSeconds})
    RETURNING scope, high_water_mark, last_run_at`.execute(db);
  return rows.map((row) => ({
    scope: row.scope,
    highWaterMark: row.high_water_mark,
    claimedAt: row.last_run_at,
  }));
}

/** Gives claimed scopes back when their jobs could not be queued, so the next tick retries. */
export async function releaseClaims(db: Db, scopes: readonly string[]): Promise<void> {
  if (scopes.length === 0) return;
  await db
    .updateTable('reconcile_state')
    .set({ last_run_at: null, updated_at: sql`now()` })
    .where('scope', 'in', [...scopes])
    .execute();
}

export async function highWaterMark(db: Db, scope: string): Promise<Date | null> {
  const row = await db
    .selectFrom('reconcile_state')
    .select('high_water_mark')
    .where('scope', '=', scope)
    .executeTakeFirst();
  return row?.high_water_mark ?? null;
}

export type RunOutcome =
  | { ok: true; mark: Date | null }
  /** A failed run may still have covered part of its window (mark), e.g. PPNS acks failing. */
  | { ok: false; error: string; mark?: Date | null };

/**
 * Records the end of one pull or sweep. The mark only moves forward (GREATEST ignores NULL), so
 * a slow run finishing after a newer one cannot pull it back.
 */
export async function recordRun(db: Db, scope: string, outcome: RunOutcome): Promise<void> {
  const mark = outcome.mark ?? null;
  const error = outcome.ok ? null : outcome.error.slice(0, 2000);
  await sql`
    INSERT INTO reconcile_state (scope, kind, high_water_mark, last_success_at, last_error, runs)
    VALUES (${scope}, ${kindOfScope(scope)}, ${mark}::timestamptz,
            ${outcome.ok ? sql`now()` : sql`NULL`}, ${error}, 1)
    ON CONFLICT (scope) DO UPDATE SET
      high_water_mark = GREATEST(reconcile_state.high_water_mark, EXCLUDED.high_water_mark),
      last_success_at = COALESCE(EXCLUDED.last_success_at, reconcile_state.last_success_at),
      last_error = EXCLUDED.last_error,
      runs = reconcile_state.runs + 1,
      updated_at = now()`.execute(db);
}

/** A failure inside a run (one movement's messages): shown on the scope, not counted as a run. */
export async function noteError(db: Db, scope: string, error: string): Promise<void> {
  await db
    .updateTable('reconcile_state')
    .set({ last_error: error.slice(0, 2000), updated_at: sql`now()` })
    .where('scope', '=', scope)
    .execute();
}

/** Counts messages a scope found that push had missed. */
export async function addRecovered(db: Db, scope: string, count: number): Promise<void> {
  await sql`
    INSERT INTO reconcile_state (scope, kind, recovered) VALUES (${scope}, ${kindOfScope(scope)}, ${count})
    ON CONFLICT (scope) DO UPDATE SET
      recovered = reconcile_state.recovered + EXCLUDED.recovered, updated_at = now()`.execute(db);
}
