import { sql, type Kysely } from 'kysely';

// Tables for completeness and operations (issue 4): reconciliation high-water marks, the audit
// log of operator actions, bulk replays, and webhook delivery cursors.

export async function up(db: Kysely<any>): Promise<void> {
  // One row per reconciliation scope: `ppns:<boxId>` (PPNS pull) or `ctc:<eori>:<type>` (the
  // movements sweep). The mark only moves forward, after the work it covers was queued.
  await sql`
    CREATE TABLE reconcile_state (
      scope            text PRIMARY KEY,
      kind             text NOT NULL CHECK (kind IN ('ppns', 'ctc')),
      high_water_mark  timestamptz,
      last_run_at      timestamptz,
      last_success_at  timestamptz,
      last_error       text,
      runs             bigint NOT NULL DEFAULT 0,
      recovered        bigint NOT NULL DEFAULT 0,
      updated_at       timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE audit_log (
      id         bigserial PRIMARY KEY,
      at         timestamptz NOT NULL DEFAULT now(),
      actor      text NOT NULL,
      action     text NOT NULL,
      target     jsonb NOT NULL DEFAULT '{}',
      outcome    text NOT NULL,
      details    jsonb NOT NULL DEFAULT '{}'
    )`.execute(db);
  await sql`CREATE INDEX audit_log_at_idx ON audit_log (at DESC)`.execute(db);
  await sql`CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC)`.execute(db);

  await sql`
    CREATE TABLE replays (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      requested_by text NOT NULL,
      filter       jsonb NOT NULL,
      status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
      total        integer NOT NULL DEFAULT 0,
      replayed     integer NOT NULL DEFAULT 0,
      skipped      integer NOT NULL DEFAULT 0,
      failed       integer NOT NULL DEFAULT 0,
      created_at   timestamptz NOT NULL DEFAULT now(),
      finished_at  timestamptz
    )`.execute(db);

  await sql`
    CREATE TABLE webhook_cursors (
      url           text PRIMARY KEY,
      cursor        text,
      delivered     bigint NOT NULL DEFAULT 0,
      failed        bigint NOT NULL DEFAULT 0,
      last_error    text,
      updated_at    timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['webhook_cursors', 'replays', 'audit_log', 'reconcile_state']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
