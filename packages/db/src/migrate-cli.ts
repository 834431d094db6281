import { databaseConcern, parseEnv } from '@ctc-hub/config';
import { createDb } from './connection.js';
import { prepareDatabase } from './admin.js';

// `pnpm migrate`: create the database if needed, apply migrations, prepare partitions.
// Exits non-zero (naming the migration) on failure.
const config = parseEnv(databaseConcern, process.env);
const db = createDb({ url: config.DATABASE_URL, poolMax: 1, applicationName: 'ctc-hub-migrate' });
try {
  await prepareDatabase(db, config.DATABASE_URL);
  console.log(JSON.stringify({ level: 'info', msg: 'database is at the latest migration' }));
} catch (error) {
  console.error(
    JSON.stringify({ level: 'error', msg: 'migration failed', error: (error as Error).message }),
  );
  process.exitCode = 1;
} finally {
  await db.destroy();
}
