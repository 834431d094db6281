import type { MovementType } from './movements.table.js';

/**
 * Deltas of the number of movements per group (migration 2026_12_06_1520): the sum of `n` over
 * a group's rows is the number of movements in it, exactly, in any snapshot. Written only by the
 * triggers on `movements` and folded by compactCounts.
 */
export interface MovementCountsTable {
  movement_type: MovementType;
  enrollment_eori: string | null;
  movement_eori: string | null;
  /** movement_id is 16 lower-case hex (what HMRC's lists show). */
  hex_id: boolean;
  quarantined: boolean;
  n: string;
}

/** Deltas of the number of messages per month (partition), movement type, box and type. */
export interface MessageCountsTable {
  movement_month: string;
  movement_type: MovementType;
  box_id: string | null;
  message_type: string | null;
  n: string;
}
