// Risk retired: the list totals kept in movement_counts and message_counts (migration
// 2026_12_06_1520) are exactly count(*) of the tables, group by group, after everything that
// adds, changes or removes rows: ingest batches (repeated, concurrent), an enrolment conflict
// that quarantines a movement, a quarantined notification, deletes, retention's partition drop
// and default-partition deletes, and compaction running beside ingest.
import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, hex16, type TestDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { messageRecord, notificationFacts } from '../inbound/ingest-fixtures.js';
import { storeIngestBatch } from '../inbound/store.js';
import type { IngestRecord } from '../inbound/types.js';
import { applyRetention } from '../retention/retention.js';
import { compactCounts } from './counts.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.destroy();
});

const deriveStatus = () => 'unknown';
const boxes = [randomUUID(), randomUUID()];

/** Each group's total from the counts tables, and count(*) of the same group. */
async function groups() {
  const result = await sql<{ name: string; counted: unknown[]; actual: unknown[] }>`
    SELECT 'movements' AS name,
      (SELECT coalesce(json_agg(x ORDER BY x::text), '[]') FROM (
         SELECT movement_type, enrollment_eori, movement_eori, hex_id, quarantined, sum(n)::int AS n
           FROM movement_counts GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0) x) AS counted,
      (SELECT coalesce(json_agg(x ORDER BY x::text), '[]') FROM (
         SELECT movement_type, enrollment_eori, movement_eori,
                movement_id ~ '^[0-9a-f]{16}$' AS hex_id, quarantined_at IS NOT NULL AS quarantined,
                count(*)::int AS n
           FROM movements GROUP BY 1, 2, 3, 4, 5) x) AS actual
    UNION ALL
    SELECT 'messages',
      (SELECT coalesce(json_agg(x ORDER BY x::text), '[]') FROM (
         SELECT movement_month, movement_type, box_id, message_type, sum(n)::int AS n
           FROM message_counts GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) x),
      (SELECT coalesce(json_agg(x ORDER BY x::text), '[]') FROM (
         SELECT movement_month, movement_type, box_id, message_type, count(*)::int AS n
           FROM messages GROUP BY 1, 2, 3, 4) x)`.execute(testDb.db);
  return result.rows;
}

async function expectExact() {
  for (const { name, counted, actual } of await groups()) {
    expect({ name, counted }).toEqual({ name, actual: undefined, counted: actual });
  }
}

/** A message for `movementId` in `box`, claimed for `eori` (verified or not). */
function record(
  movementId: string,
  type: string,
  box: string,
  eori = 'GB000000000001',
  verified = true,
): IngestRecord {
  const base = messageRecord(
    movementId,
    type,
    notificationFacts({ boxId: box, enrollmentEori: eori }),
  );
  return {
    ...base,
    movement: { ...base.movement, enrollmentVerified: verified, movementEori: eori },
  };
}

it('keeps exact totals through ingest, conflicts, deletes, retention and compaction', async () => {
  // Ingest: new movements, more messages for them, the same batch again, batches at once.
  const movements = Array.from({ length: 12 }, () => hex16());
  const first = movements.map((id, n) =>
    record(id, 'IE015', boxes[n % 2]!, `GB00000000000${n % 3}`),
  );
  await storeIngestBatch(testDb.db, first, deriveStatus);
  await storeIngestBatch(testDb.db, first, deriveStatus);
  await Promise.all(
    [0, 1, 2].map((batch) =>
      storeIngestBatch(
        testDb.db,
        movements
          .slice(batch * 4, batch * 4 + 4)
          .map((id) => record(id, 'IE028', boxes[batch % 2]!)),
        deriveStatus,
      ),
    ),
  );
  // A movement with a retired API 1.0 decimal id (HMRC's lists do not show it).
  await storeIngestBatch(testDb.db, [record('1234567', 'IE015', boxes[0]!)], deriveStatus);
  await expectExact();

  // Enrolment conflict: claimed for one EORI, then HMRC names another: quarantined.
  const disputed = hex16();
  await storeIngestBatch(
    testDb.db,
    [record(disputed, 'IE015', boxes[0]!, 'GB999999999999', false)],
    deriveStatus,
  );
  await storeIngestBatch(
    testDb.db,
    [record(disputed, 'IE028', boxes[0]!, 'GB888888888888', true)],
    deriveStatus,
  );
  const quarantined = await sql<{ q: boolean }>`
    SELECT quarantined_at IS NOT NULL AS q FROM movements WHERE movement_id = ${disputed}`.execute(
    testDb.db,
  );
  expect(quarantined.rows).toEqual([{ q: true }]);
  // A notification that could not be read: quarantined, no movement or message.
  const facts = notificationFacts();
  const unreadable: IngestRecord = {
    kind: 'quarantine',
    notification: facts,
    notificationRef: null,
    deadLetter: {
      subject: { kind: 'notification', notificationId: facts.notificationId },
      queue: 'ingest',
      jobId: 'x',
      errorCode: 'NOT_WELL_FORMED',
      errorMessage: 'XML is not well-formed',
      history: [],
      payload: { envelope: facts.envelope },
      eori: facts.enrollmentEori,
      movementType: 'departure',
      movementId: hex16(),
      messageId: hex16(),
    },
  };
  await storeIngestBatch(testDb.db, [unreadable], deriveStatus);
  await expectExact();
  // Released by an operator.
  await sql`UPDATE movements SET quarantined_at = NULL WHERE movement_id = ${disputed}`.execute(
    testDb.db,
  );
  await expectExact();

  // Compaction: the same totals in one row per group.
  await compactCounts(testDb.db);
  await expectExact();
  const rows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM movement_counts`.execute(
    testDb.db,
  );
  const movementGroups = (await groups())[0]!.actual.length;
  expect(rows.rows[0]!.n).toBe(movementGroups);
  // Folded already: a second run finds nothing to do and writes nothing.
  expect(await compactCounts(testDb.db)).toEqual({ movementRows: -1, messageRows: -1 });

  // Deletes (as a disconnected trader's quarantined movements are discarded).
  await sql`DELETE FROM messages WHERE movement_id = ${movements[0]}`.execute(testDb.db);
  await sql`DELETE FROM movements WHERE movement_id = ${movements[0]}`.execute(testDb.db);
  await expectExact();

  // Compaction beside ingest.
  await Promise.all([
    ...[0, 1, 2, 3].map(() =>
      storeIngestBatch(
        testDb.db,
        [record(hex16(), 'IE015', boxes[1]!), record(hex16(), 'IE015', boxes[0]!)],
        deriveStatus,
      ),
    ),
    compactCounts(testDb.db),
    compactCounts(testDb.db),
  ]);
  await expectExact();

  // Retention: an old month with its own partition, and a month that has none (its messages
  // sit in the default partition).
  await sql`SELECT ctc_ensure_monthly_partitions('messages', '2025-01-01'::date, '2025-01-01'::date)`.execute(
    testDb.db,
  );
  for (const month of ['2025-01-01', '2024-06-01']) {
    const id = hex16();
    await sql`
      INSERT INTO movements (movement_type, movement_id, request_id, retention_month, last_message_at, box_id)
      VALUES ('departure', ${id}, ${`/customs/transits/movements/departures/${id}`}, ${month}::date,
              ${month}::timestamptz, ${boxes[0]}::uuid)`.execute(testDb.db);
    await sql`
      INSERT INTO messages (movement_month, movement_type, movement_id, message_id, message_type,
        direction, known_type, received_at, size_bytes, sha256, summary, source, request_id, box_id, body)
      SELECT ${month}::date, 'departure', ${id}, ${randomBytes(8).toString('hex')} || g, 'IE028',
             'inbound', true, ${month}::timestamptz, 3, '\\x00'::bytea, '{}'::jsonb, 'push',
             ${`/customs/transits/movements/departures/${id}`}, ${boxes[0]}::uuid, '\\x3c613e'::bytea
        FROM generate_series(1, 3) g`.execute(testDb.db);
  }
  await expectExact();
  const report = await applyRetention(testDb.db, 180, new Date('2026-12-06T00:00:00Z'));
  expect(report.droppedPartitions).toContain('messages_2025_01');
  expect(report.deletedRows.messages_default).toBe(3);
  await expectExact();
  await compactCounts(testDb.db);
  await expectExact();
});
