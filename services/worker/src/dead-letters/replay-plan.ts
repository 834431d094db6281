import type { Database, DeadLetter, DeadLetterKind } from '@ctc-hub/db';
import type { Transaction } from 'kysely';
import type { OpsDeps } from '../runtime/deps.js';

/**
 * How a kind of dead letter is re-run. Each capability exports the replayer of the letters it
 * writes (inbound/replayers.ts, submissions/replayer.ts, webhooks/replay.ts) and the worker
 * assembles them in one table (handlers.ts, `replayers`), typed by the kinds there are, so a new
 * kind without a replayer does not compile. A replayer only describes the work; the replay job
 * (replay.ts) decides when it runs, marks the letter and counts it.
 */

export type ReplayTrx = Transaction<Database>;

export type ReplayPlan =
  | {
      ok: true;
      /**
       * The job that re-runs the work. It must be a function of (letter, attempt): a replay that
       * crashed after marking the letter adds the job again under the same id, and BullMQ then
       * keeps the one it has.
       */
      jobId: string;
      /**
       * Database changes that must commit together with the letter's `replayed` mark. Returns a
       * reason to skip the letter instead, having changed nothing.
       */
      prepare?: (trx: ReplayTrx) => Promise<{ skip: string } | undefined>;
      /** Adds the job. May run twice for one claim (after a crash); must tolerate that. */
      enqueue: (deps: OpsDeps, claimedAt: Date) => Promise<void>;
    }
  | { ok: false; reason: string };

/** `attempt` is the letter's replay_count after this replay (1 for the first replay). */
export type Replayer = (letter: DeadLetter, attempt: number, deps: OpsDeps) => ReplayPlan;

/** New job ids for replayed work: the old job may still exist (failed jobs stay for a week). */
export const replayJobId = (baseJobId: string, attempt: number): string =>
  `${baseJobId}-r${attempt}`;

/** One replayer per dead-letter kind. */
export type Replayers = Readonly<Record<DeadLetterKind, Replayer>>;

/** The plan for one letter, or why it cannot be replayed. */
export function planReplay(
  replayers: Replayers,
  letter: DeadLetter,
  attempt: number,
  deps: OpsDeps,
): ReplayPlan {
  const replayer = (replayers as Partial<Record<string, Replayer>>)[letter.kind];
  if (replayer === undefined)
    return { ok: false, reason: `no replayer is registered for kind "${letter.kind}"` };
  return replayer(letter, attempt, deps);
}
