import { sql, type RawBuilder, type Transaction } from 'kysely';
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

/**
 * One column of a batch insert through `unnest`: the SQL type of its values, and whether they
 * travel as ONE array parameter (`array`: short values) or one parameter each (`each`: bodies and
 * envelopes, which would otherwise be escaped into, and parsed back out of, an array literal;
 * a Buffer parameter also goes over the wire as binary, not hex).
 */
export interface UnnestColumn<Row> {
  name: keyof Row & string;
  type: string;
  pass?: 'array' | 'each';
}

/**
 * `SELECT … FROM unnest(…)` over the rows' columns, for `INSERT INTO t (cols) SELECT …`: a fixed
 * statement with one parameter per column (plus one per row for `each` columns) instead of a
 * multi-row VALUES list with one parameter per cell, so neither Kysely nor PostgreSQL handles
 * thousands of parameter nodes per batch. Rows come out in the order given (a function scan),
 * which keeps the key-ordered locking of concurrent batches.
 */
export function unnestRows<Row>(
  rows: readonly Row[],
  columns: readonly UnnestColumn<Row>[],
  select: Partial<
    Record<keyof Row & string, (column: RawBuilder<unknown>) => RawBuilder<unknown>>
  > = {},
): RawBuilder<unknown> {
  const args = columns.map((column) => {
    const values = rows.map((row) => row[column.name] ?? null);
    return column.pass === 'each'
      ? sql`ARRAY[${sql.join(values)}]::${sql.raw(column.type)}[]`
      : sql`${values}::${sql.raw(column.type)}[]`;
  });
  const names = columns.map((column) => sql.ref(`u.${column.name}`));
  const list = columns.map(
    (column, index) => select[column.name]?.(names[index]!) ?? names[index]!,
  );
  return sql`SELECT ${sql.join(list)} FROM unnest(${sql.join(args)}) AS u(${sql.join(
    columns.map((column) => sql.id(column.name)),
  )})`;
}
