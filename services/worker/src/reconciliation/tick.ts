import type { MovementType } from '@ctc-hub/ppns';
import {
  jobIds,
  jobOptions,
  jobs,
  ppnsPullData,
  reconcileMovementsData,
  reconcileTickData,
  type ReconcileMovementsData,
} from '@ctc-hub/queue';
import type { Job } from 'bullmq';
import { jobData, removedWhenFinished } from './jobs.js';
import { claimDueScopes, ctcScope, ppnsScope, releaseClaims, type ClaimedScope } from './state.js';
import type { OpsDeps } from '../runtime/deps.js';

const movementTypes: readonly MovementType[] = ['departure', 'arrival'];

export interface TickResult {
  pulls: string[];
  sweeps: string[];
}

/**
 * `reconcile-tick` (every RECONCILE_TICK_SECONDS, one run per tick cluster-wide): queues a
 * `ppns-pull` for each box in PPNS_BOX_IDS not pulled for PPNS_PULL_INTERVAL_SECONDS, and page 1
 * of a CTC sweep for each connected trader and movement type not swept for
 * RECONCILE_INTERVAL_SECONDS. What is due is claimed in reconcile_state (last_run_at) in the same
 * statement that decides it, so a tick running twice, or on two replicas, queues each run once.
 * The tick itself never calls HMRC: it only queues work for the rate-limited hmrc queue.
 */
export function createReconcileTickProcessor(deps: OpsDeps) {
  return async (job: Job): Promise<TickResult | { skipped: string }> => {
    jobData(reconcileTickData, job);
    const { config, db } = deps;
    // A tick left in Redis by a scheduler that was since removed must not call anyone.
    if (!config.RECONCILE_ENABLED) return { skipped: 'RECONCILE_ENABLED is false' };
    // Ticks land on a grid RECONCILE_TICK_SECONDS apart but not exactly: half a tick of slack
    // keeps a 10 s pull at 10 s instead of slipping to the next tick at 15 s.
    const dueAfter = (seconds: number) => Math.max(0, seconds - config.RECONCILE_TICK_SECONDS / 2);

    const boxes = new Map(config.PPNS_BOX_IDS.map((boxId) => [ppnsScope(boxId), boxId]));
    const duePulls = await claimDueScopes(
      db,
      'ppns',
      [...boxes.keys()],
      dueAfter(config.PPNS_PULL_INTERVAL_SECONDS),
    );
    await queueOrRelease(deps, duePulls, () =>
      deps.queues.hmrc.addBulk(
        duePulls.map(({ scope }) => {
          const boxId = boxes.get(scope)!;
          return {
            name: jobs.ppnsPull.name,
            data: ppnsPullData.parse({ boxId }),
            // One pull per box at a time: while one waits or runs, adding another is a no-op.
            opts: jobOptions(jobs.ppnsPull, {
              jobId: jobIds.ppnsPull(boxId),
              ...removedWhenFinished,
            }),
          };
        }),
      ),
    );

    const traders = await db
      .selectFrom('oauth_tokens')
      .select('subject')
      .where('kind', '=', 'user')
      .orderBy('subject')
      .execute();
    const sweeps = new Map<string, { eori: string; movementType: MovementType }>();
    for (const { subject } of traders)
      for (const movementType of movementTypes)
        sweeps.set(ctcScope(subject, movementType), { eori: subject, movementType });
    const dueSweeps = await claimDueScopes(
      db,
      'ctc',
      [...sweeps.keys()],
      dueAfter(config.RECONCILE_INTERVAL_SECONDS),
    );
    await queueOrRelease(deps, dueSweeps, () =>
      deps.queues.hmrc.addBulk(
        dueSweeps.map((claimed) => {
          const { eori, movementType } = sweeps.get(claimed.scope)!;
          const sweepStartedAt = claimed.claimedAt.toISOString();
          const data: ReconcileMovementsData = {
            eori,
            movementType,
            updatedSince: sweepLowerBound(claimed, config.RECONCILE_INITIAL_LOOKBACK_HOURS),
            page: 1,
            sweepStartedAt,
          };
          return {
            name: jobs.reconcileMovements.name,
            data: reconcileMovementsData.parse(data),
            opts: jobOptions(jobs.reconcileMovements, {
              jobId: jobIds.reconcileMovements(eori, movementType, sweepStartedAt, 1),
              removeOnComplete: true,
            }),
          };
        }),
      ),
    );
    if (duePulls.length > 0 || dueSweeps.length > 0)
      deps.logger.debug(
        { pulls: duePulls.length, sweeps: dueSweeps.length },
        'reconciliation queued',
      );
    return { pulls: duePulls.map((c) => c.scope), sweeps: dueSweeps.map((c) => c.scope) };
  };
}

/**
 * The first sweep of a scope looks RECONCILE_INITIAL_LOOKBACK_HOURS back; later ones start at
 * the mark (already the previous sweep's start minus the overlap).
 */
function sweepLowerBound(claimed: ClaimedScope, lookbackHours: number): string {
  const since =
    claimed.highWaterMark ?? new Date(claimed.claimedAt.getTime() - lookbackHours * 3600_000);
  return since.toISOString();
}

/** Claims whose jobs did not reach Redis are handed back, so the next tick tries again. */
async function queueOrRelease(
  deps: OpsDeps,
  claimed: readonly ClaimedScope[],
  queue: () => Promise<unknown>,
): Promise<void> {
  if (claimed.length === 0) return;
  try {
    await queue();
  } catch (error) {
    await releaseClaims(
      deps.db,
      claimed.map((c) => c.scope),
    ).catch(() => undefined);
    throw error;
  }
}
