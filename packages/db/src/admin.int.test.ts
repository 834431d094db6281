// Risk retired: migrations apply on a real PostgreSQL and partitions exist for the current month,
// so inserts land in monthly partitions rather than the default one.
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import { ensurePartitions } from './admin.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.destroy();
});

it('creates monthly partitions once and routes rows into them', async () => {
  const now = new Date();
  expect(await ensurePartitions(testDb.db, now)).toBe(0);
  const month = `${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  const partitions = await sql<{ relname: string }>`
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events'::regclass ORDER BY 1`.execute(testDb.db);
  expect(partitions.rows.map((row) => row.relname)).toContain(`events_${month}`);

  await testDb.db.insertInto('events').values({ kind: 'test', data: '{}' }).execute();
  const placed = await sql<{
    tableoid: string;
  }>`SELECT tableoid::regclass::text AS tableoid FROM events`.execute(testDb.db);
  expect(placed.rows[0]?.tableoid).toBe(`events_${month}`);
});
