import type { ColumnType, Generated, Selectable } from 'kysely';

export interface ReconcileStateTable {
  /** `ppns:<boxId>` or `ctc:<eori>:<departure|arrival>`. */
  scope: string;
  kind: 'ppns' | 'ctc';
  high_water_mark: Date | null;
  last_run_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
  runs: Generated<number>;
  /** Messages this scope found that push had missed. */
  recovered: Generated<number>;
  updated_at: Generated<Date>;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Generated<Date>;
  /** The API key id (first 8 hex of its SHA-256), never the key. */
  actor: string;
  /** e.g. dead-letter.replay, dead-letter.purge, replay.bulk */
  action: string;
  target: ColumnType<Record<string, unknown>, string | undefined, string>;
  outcome: string;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface ReplaysTable {
  id: Generated<string>;
  requested_by: string;
  filter: ColumnType<Record<string, unknown>, string, string>;
  status: Generated<'running' | 'done' | 'failed'>;
  total: Generated<number>;
  replayed: Generated<number>;
  skipped: Generated<number>;
  failed: Generated<number>;
  created_at: Generated<Date>;
  finished_at: Date | null;
}

export interface WebhookCursorsTable {
  url: string;
  /** The change-feed cursor of the last event delivered (or given up on) to this URL. */
  cursor: string | null;
  delivered: Generated<number>;
  failed: Generated<number>;
  last_error: string | null;
  updated_at: Generated<Date>;
}

export type ReconcileState = Selectable<ReconcileStateTable>;
export type AuditLogEntry = Selectable<AuditLogTable>;
export type Replay = Selectable<ReplaysTable>;
export type WebhookCursor = Selectable<WebhookCursorsTable>;
