import type { DeadLetter, Replay, ReplayItem } from '@ctc-hub/db';
import { RatePacer, replayData, spacingFor } from '@ctc-hub/queue';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { OpsDeps } from '../runtime/deps.js';
import { planReplay, type ReplayPlan, type Replayers } from './replay-plan.js';
import {
  claimItem,
  failReplay,
  findLetter,
  finishReplay,
  getReplay,
  lockItem,
  markQueued,
  openItems,
  settleItem,
  unclaimItem,
} from './replay-store.js';

/** Items read per query; the pacer, not the batch, sets the speed. */
const batchSize = 100;

/** How long a replay that found no free slot waits before it asks again. */
const slotRetryMs = 1000;

/**
 * One schedule for every replay on every worker replica (Redis' clock), so two bulk replays
 * running at once still add at most REPLAY_RATE_PER_SECOND jobs per second between them.
 */
export const replayPacerKey = (queuePrefix: string): string => `${queuePrefix}:ops:replay-pacer`;

export interface ReplaySummary {
  replayId: string;
  status: Replay['status'];
  total: number;
  replayed: number;
  skipped: number;
  failed: number;
}

const summaryOf = (replay: Replay): ReplaySummary => ({
  replayId: replay.id,
  status: replay.status,
  total: replay.total,
  replayed: replay.replayed,
  skipped: replay.skipped,
  failed: replay.failed,
});

type Verdict =
  | { kind: 'skipped' | 'failed'; reason: string }
  | { kind: 'replay'; attempt: number; plan: Extract<ReplayPlan, { ok: true }> };

/** What to do with a letter now. Pure, so it can be asked before and again under the lock. */
function judge(letter: DeadLetter | undefined, replay: Replay, deps: ReplayDeps): Verdict {
  if (letter === undefined) return { kind: 'skipped', reason: 'the dead letter no longer exists' };
  if (letter.status === 'resolved' || letter.status === 'purged')
    return { kind: 'skipped', reason: `the dead letter is ${letter.status}` };
  // Another replay (a single one, or an overlapping bulk one) re-ran it after this replay was
  // confirmed: running it again would double the work.
  if (letter.replayed_at !== null && letter.replayed_at > replay.created_at)
    return { kind: 'skipped', reason: 'another replay re-ran it after this one was confirmed' };
  const attempt = letter.replay_count + 1;
  const plan = planReplay(deps.replayers, letter, attempt, deps);
  if (!plan.ok) return { kind: 'failed', reason: plan.reason };
  return { kind: 'replay', attempt, plan };
}

/**
 * `replay`: walks the replay's items in order and re-queues each letter's work, paced at
 * REPLAY_RATE_PER_SECOND.
 *
 * Idempotent and resumable. Each item is claimed in one transaction with the item row locked:
 * the letter becomes `replayed` (replay_count + 1), kind-specific changes are made, the item
 * becomes `queuing` with its job id, and the replay's counter moves. Only then is the job added,
 * and the item marked `replayed`. A second run of the same replay (a retry after a crash, or a
 * duplicate job) waits on the lock and finds the item no longer pending; an item left `queuing`
 * by a crash is added again under the same job id, which BullMQ deduplicates while the job
 * exists. Letters resolved or purged meanwhile are skipped; kinds that cannot be replayed are
 * counted as failed with the reason.
 *
 * Fair sharing: every running replay takes its turn at the one pacer, so two replays (of any
 * keys) each get half of REPLAY_RATE_PER_SECOND however large the other is; the api caps the
 * replays one key may have running (REPLAY_MAX_RUNNING_PER_KEY). And at most `maxAtOnce` replays
 * run in one process: a replay holds its ops slot until it ends, and without this a few large
 * ones would hold every slot and stop the reconcile tick for everyone. A replay that finds none
 * free goes back to the queue (delayed, no attempt spent) and asks again.
 */
/** The ops deps and the replayer of every dead-letter kind. */
type ReplayDeps = OpsDeps & { replayers: Replayers };

export function createReplayProcessor(
  ops: OpsDeps,
  options: { maxAtOnce: number; replayers: Replayers },
) {
  const deps: ReplayDeps = { ...ops, replayers: options.replayers };
  let running = 0;
  const pacer = new RatePacer(
    deps.redis,
    replayPacerKey(deps.config.QUEUE_PREFIX),
    spacingFor(deps.config.REPLAY_RATE_PER_SECOND),
  );
  return async (job: Job, token?: string): Promise<ReplaySummary> => {
    if (running >= options.maxAtOnce && token !== undefined) {
      await job.moveToDelayed(Date.now() + slotRetryMs, token);
      throw new DelayedError();
    }
    running += 1;
    try {
      return await runReplay(deps, pacer, job);
    } finally {
      running -= 1;
    }
  };
}

async function runReplay(deps: ReplayDeps, pacer: RatePacer, job: Job): Promise<ReplaySummary> {
  const parsed = replayData.safeParse(job.data);
  if (!parsed.success)
    throw new UnrecoverableError(`job data does not match the catalogue: ${parsed.error.message}`);
  const { replayId } = parsed.data;
  const replay = await getReplay(deps.db, replayId);
  if (replay === undefined) throw new UnrecoverableError(`replay ${replayId} does not exist`);
  if (replay.status !== 'running') return summaryOf(replay);
  const log = deps.logger.child({ replayId });
  try {
    let cursor = 0;
    for (;;) {
      const items = await openItems(deps.db, replayId, cursor, batchSize);
      if (items.length === 0) break;
      for (const item of items) {
        await replayItem(deps, pacer, replay, item);
        cursor = item.position;
      }
      await job.updateProgress({ position: cursor, total: replay.total });
    }
    const finished = await finishReplay(deps.db, replayId);
    const latest = finished ?? (await getReplay(deps.db, replayId)) ?? replay;
    if (finished !== undefined) log.info(summaryOf(finished), 'replay finished');
    return summaryOf(latest);
  } catch (error) {
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await failReplay(deps.db, replayId, (error as Error).message).catch((failError: unknown) =>
        log.error({ err: failError }, 'could not mark the replay failed'),
      );
    }
    throw error;
  }
}

async function replayItem(
  deps: ReplayDeps,
  pacer: RatePacer,
  replay: Replay,
  item: ReplayItem,
): Promise<void> {
  if (item.state === 'queuing') return resumeItem(deps, item);
  // An unlocked first look: only letters that will really be re-run wait for a slot.
  const preview = judge(await findLetter(deps.db, item.dead_letter_id), replay, deps);
  if (preview.kind === 'replay') await pacer.pace();

  const claim = await deps.db.transaction().execute(async (trx) => {
    const locked = await lockItem(trx, item);
    if (locked?.state !== 'pending') return { resume: locked?.state === 'queuing' ? locked : null };
    const letter = await findLetter(trx, item.dead_letter_id, { lock: true });
    const verdict = judge(letter, replay, deps);
    if (verdict.kind !== 'replay') {
      await settleItem(trx, item, verdict.kind, verdict.reason);
      return {};
    }
    const prepared = await verdict.plan.prepare?.(trx);
    if (prepared !== undefined) {
      await settleItem(trx, item, 'skipped', prepared.skip);
      return {};
    }
    const claimedAt = await claimItem(trx, item, letter!, verdict.attempt, verdict.plan.jobId);
    return { plan: verdict.plan, claimedAt };
  });

  if (claim.resume) return resumeItem(deps, claim.resume);
  if (claim.plan !== undefined) {
    await claim.plan.enqueue(deps, claim.claimedAt);
    await markQueued(deps.db, item);
  }
}

/**
 * An item claimed by a run that stopped before (or while) adding its job. The letter's
 * replay_count already counts this replay, so the plan yields the same job id as before.
 */
async function resumeItem(deps: ReplayDeps, item: ReplayItem): Promise<void> {
  const letter = await findLetter(deps.db, item.dead_letter_id);
  if (letter === undefined) return unclaimItem(deps.db, item, 'the dead letter no longer exists');
  // Anything but `replayed` means the work ran and settled the letter (or it was purged since):
  // nothing to add.
  if (letter.status !== 'replayed') return markQueued(deps.db, item);
  const plan = planReplay(deps.replayers, letter, letter.replay_count, deps);
  if (!plan.ok) return unclaimItem(deps.db, item, plan.reason);
  if (plan.jobId !== item.job_id) {
    // A later replay re-ran the letter in between; its job stands for ours.
    return markQueued(deps.db, item);
  }
  await plan.enqueue(deps, item.processed_at ?? new Date());
  await markQueued(deps.db, item);
}
