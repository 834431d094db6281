import type { Generated, Selectable } from 'kysely';

/** pending → queuing → replayed, or → skipped | failed (with a reason). */
export type ReplayItemState = 'pending' | 'queuing' | 'replayed' | 'skipped' | 'failed';

/** One dead letter of a replay, fixed when the replay was confirmed. */
export interface ReplayItemsTable {
  replay_id: string;
  /** Order within the replay (oldest letter first). */
  position: number;
  dead_letter_id: string;
  state: Generated<ReplayItemState>;
  /** The BullMQ job that re-runs the work, set when the item is claimed. */
  job_id: string | null;
  /** Why the item was skipped or failed. */
  reason: string | null;
  /** When the item was claimed (queuing) or settled. */
  processed_at: Date | null;
}

export type ReplayItem = Selectable<ReplayItemsTable>;
