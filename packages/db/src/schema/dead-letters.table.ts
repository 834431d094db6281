import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { ErrorHistoryEntry } from './notifications.table.js';

export type DeadLetterStatus = 'open' | 'replayed' | 'resolved' | 'purged';

export interface DeadLettersTable {
  id: Generated<string>;
  /** e.g. `notification:<uuid>`; a second failure of the same thing updates the row. */
  dedupe_key: string;
  /** notification | fetch-message | submit | ... */
  kind: string;
  queue: string | null;
  job_id: string | null;
  error_code: string;
  error_message: string;
  error_history: ColumnType<ErrorHistoryEntry[], string | undefined, string>;
  /** What is needed to replay: the raw envelope or the job data. */
  payload: ColumnType<unknown, string, string>;
  notification_id: string | null;
  box_id: string | null;
  eori: string | null;
  movement_type: string | null;
  movement_id: string | null;
  message_id: string | null;
  status: Generated<DeadLetterStatus>;
  occurrences: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  replayed_at: Date | null;
  replay_count: Generated<number>;
}

export type DeadLetter = Selectable<DeadLettersTable>;
export type NewDeadLetter = Insertable<DeadLettersTable>;
