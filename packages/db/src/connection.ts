import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema/database.js';

// Column types are parsed once, here, for every pool we create:
//  - int8 (counts, bigserial) as number: our values stay far below 2^53;
//  - date as the 'YYYY-MM-DD' text it is (a JS Date would shift with the process time zone);
//  - timestamp without time zone as its ISO text, since NCTS times carry no zone.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
      if (oid === pg.types.builtins.DATE) return (value: string) => value;
      if (oid === pg.types.builtins.TIMESTAMP) return (value: string) => value.replace(' ', 'T');
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

export interface DbOptions {
  url: string;
  poolMax?: number;
  /** Name reported to Postgres (pg_stat_activity.application_name). */
  applicationName?: string;
}

export type Db = Kysely<Database>;

export function createPool(options: DbOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    application_name: options.applicationName ?? 'ctc-hub',
    types,
    // Fail fast when Postgres is unreachable so jobs retry instead of hanging.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // A client in use (a query or transaction in progress) that loses its connection emits 'error'
  // on itself, not on the pool: its query fails and the caller retries, but with no listener the
  // event killed the process (found by tests/faults: PostgreSQL restarted under load).
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function createDb(options: DbOptions): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(options) }) });
}

/** Readiness probe. */
export async function pingDb(db: Db): Promise<void> {
  await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
}
