import { randomBytes } from 'node:crypto';
import { createDb, ensurePartitions, migrateToLatest, type Db } from '@ctc-hub/db';
import pg from 'pg';
import { databaseUrl } from './infra.js';

const prefix = 'ctc_test_';

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function newName(kind: 'tpl' | 'db'): string {
  return `${prefix}${kind}_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
}

/**
 * Creates and migrates the template every test database is cloned from, and removes test
 * databases that crashed runs left behind (older than two hours).
 */
export async function createTemplateDatabase(serverUrl: string): Promise<string> {
  const name = newName('tpl');
  await withAdmin(serverUrl, async (client) => {
    const stale = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'`,
    );
    const cutoff = Date.now() / 1000 - 2 * 3600;
    for (const { datname } of stale.rows) {
      const created = Number(datname.split('_')[3]);
      if (Number.isFinite(created) && created < cutoff) {
        await client
          .query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
          .catch(() => undefined);
      }
    }
    await client.query(`CREATE DATABASE "${name}"`);
  });
  const db = createDb({ url: databaseUrl(serverUrl, name), poolMax: 1 });
  try {
    const { error } = await migrateToLatest(db);
    if (error !== undefined) throw error;
    await ensurePartitions(db);
  } finally {
    await db.destroy();
  }
  return name;
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withAdmin(serverUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}

export interface TestDatabase {
  name: string;
  url: string;
  db: Db;
  destroy: () => Promise<void>;
}

/** A fresh, migrated database for one test file (a copy of the template: ~50 ms). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = requireEnv('CTC_TEST_POSTGRES_URL');
  const template = requireEnv('CTC_TEST_TEMPLATE_DB');
  const name = newName('db');
  await withAdmin(serverUrl, async (client) => {
    // CREATE DATABASE ... TEMPLATE fails while another session is copying the same template;
    // test files start in parallel, so retry briefly.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (error) {
        if (attempt >= 20 || (error as { code?: string }).code !== '55006') throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  });
  const url = databaseUrl(serverUrl, name);
  const db = createDb({ url, poolMax: 5 });
  return {
    name,
    url,
    db,
    destroy: async () => {
      await db.destroy();
      await dropDatabase(serverUrl, name);
    },
  };
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: run tests through Jest (pnpm test), whose global setup provides it`,
    );
  }
  return value;
}
