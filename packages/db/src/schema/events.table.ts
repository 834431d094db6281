import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface EventsTable {
  id: Generated<number>;
  /** Transaction id; the change feed only serves events below the oldest running transaction. */
  xid: Generated<string>;
  created_at: Generated<Date>;
  kind: string;
  movement_type: string | null;
  movement_id: string | null;
  message_id: string | null;
  submission_id: string | null;
  eori: string | null;
  data: ColumnType<Record<string, unknown>, string, string>;
}

export type ChangeEvent = Selectable<EventsTable>;
export type NewChangeEvent = Insertable<EventsTable>;
