import { redactUrl, StartupError } from '@ctc-hub/config';
import { Migrator, sql, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import type { Db } from './connection.js';
import { migrationProvider } from './migrations/index.js';

/** Creates the database named in `url` when it does not exist (connects to `postgres` to do so). */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('DATABASE_URL names no database');
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const client = new pg.Client({
    connectionString: adminUrl.toString(),
    // A host that drops packets would otherwise hold start-up for the OS's TCP timeout.
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
  } catch (error) {
    // The first connection anything makes: name the setting so a person knows what to fix.
    throw new StartupError(
      `cannot connect to PostgreSQL at ${redactUrl(url)} (DATABASE_URL): ${(error as Error).message || (error as { code?: string }).code || String(error)}`,
      { cause: error },
    );
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== 0) return false;
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    } catch (error) {
      // Another process created it between our check and our CREATE.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  return migrator.migrateToLatest();
}

/**
 * Makes sure monthly partitions exist from `monthsBack` before to `monthsAhead` after `now` for
 * every partitioned table. Run at start-up and daily; creating a partition is cheap while the
 * default partition is empty.
 */
export async function ensurePartitions(
  db: Db,
  now = new Date(),
  { monthsBack = 2, monthsAhead = 3 } = {},
): Promise<number> {
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + monthsAhead, 1));
  let created = 0;
  for (const parent of ['notifications', 'messages', 'events']) {
    const result = await sql<{ created: number }>`
      SELECT ctc_ensure_monthly_partitions(${parent}, ${from.toISOString().slice(0, 10)}::date, ${to
        .toISOString()
        .slice(0, 10)}::date) AS created`.execute(db);
    created += result.rows[0]?.created ?? 0;
  }
  return created;
}

/** ensureDatabaseExists + migrateToLatest + ensurePartitions; throws with the failing migration named. */
export async function prepareDatabase(db: Db, url: string): Promise<void> {
  await ensureDatabaseExists(url);
  const { error, results } = await migrateToLatest(db);
  const failed = results?.find((result) => result.status === 'Error');
  if (error !== undefined) {
    throw new Error(
      `migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message ?? String(error)}`,
    );
  }
  await ensurePartitions(db);
}
