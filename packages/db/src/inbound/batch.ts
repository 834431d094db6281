import { type Transaction } from 'kysely';
import type { Database } from '../schema/database.js';
import type { MovementType } from '../schema/movements.table.js';
import type { EnrollmentConflict } from './types.js';

/** What the parts of one ingest batch (store.ts) share: the transaction, keys, movement rows. */

export type Trx = Transaction<Database>;

export const movementKey = (type: string, id: string) => `${type}/${id}`;
export const messageKey = (type: string, id: string, messageId: string) =>
  `${type}/${id}/${messageId}`;

export interface MovementRow {
  movement_type: MovementType;
  movement_id: string;
  retention_month: string;
  status: string;
  inserted: boolean;
  /** The EORI this batch's events are filed under: null while the movement is quarantined. */
  event_eori: string | null;
  /** Set when this batch quarantined the movement (see enrollmentConflict). */
  conflict?: EnrollmentConflict;
  /** Set when this batch created the movement: its row already holds this state. */
  batchOnly?: BatchOnlyState;
}

/** The status column's default: what a movement is before any message says otherwise. */
export const unknownStatus = 'unknown';

/**
 * What a movement's row says when the batch's messages are all it has: the case for a movement
 * this batch creates (nobody else can add a message to it before we commit: a concurrent batch
 * blocks on the new row's key). Computed up front so that such a movement is written once, by
 * its INSERT, instead of inserted and then updated again by refreshMovementStatus.
 */
export interface BatchOnlyState {
  status: string;
  messageCount: number;
  lastMessageAt: Date;
  messageKeys: string[];
}
