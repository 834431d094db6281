// Risk retired: data past RETENTION_DAYS leaves by dropping whole partitions (and the handful of
// rows outside them), while everything younger, and every message of a movement still active
// within the window, stays.
import { createHash, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { applyRetention } from './retention.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.destroy();
});

const now = new Date('2026-11-21T12:00:00Z');
const month = (isoMonth: string) => `${isoMonth}-01`;

async function partitionsOf(table: string): Promise<string[]> {
  const rows = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = ${table}::regclass ORDER BY 1`.execute(testDb.db);
  return rows.rows.map((row) => row.name);
}

async function movementWithMessage(retentionMonth: string, lastMessageAt: Date) {
  const movementId = randomUUID().replace(/-/g, '').slice(0, 16);
  await testDb.db
    .insertInto('movements')
    .values({
      movement_type: 'departure',
      movement_id: movementId,
      request_id: `/customs/transits/movements/departures/${movementId}`,
      retention_month: retentionMonth,
      last_message_at: lastMessageAt,
      box_id: null,
      enrollment_eori: null,
      movement_eori: null,
      mrn: null,
      lrn: null,
      api_version: '2.1',
    })
    .execute();
  const body = Buffer.from('<ncts:CC028C xmlns:ncts="http://ncts.dgtaxud.ec"/>');
  await testDb.db
    .insertInto('messages')
    .values({
      movement_month: retentionMonth,
      movement_type: 'departure',
      movement_id: movementId,
      message_id: randomUUID().replace(/-/g, '').slice(0, 16),
      message_type: 'IE028',
      root_element: 'CC028C',
      phase: 'NCTS5.0',
      direction: 'inbound',
      known_type: true,
      received_at: lastMessageAt,
      prepared_at: null,
      message_identification: null,
      correlation_identifier: null,
      mrn: null,
      lrn: null,
      size_bytes: body.length,
      sha256: createHash('sha256').update(body).digest(),
      summary: '{}',
      parse_error: null,
      source: 'push',
      box_id: null,
      request_id: `/customs/transits/movements/departures/${movementId}`,
      notification_id: null,
      body,
    })
    .execute();
  return movementId;
}

async function notificationAt(createdAt: Date) {
  await testDb.db
    .insertInto('notifications')
    .values({
      notification_id: randomUUID(),
      created_at: createdAt,
      box_id: randomUUID(),
      source: 'push',
      status: 'stored',
      payload_version: 'v2',
      notification_type: 'MESSAGE_RECEIVED',
      movement_type: null,
      movement_id: null,
      message_id: null,
      message_type: null,
      enrollment_eori: null,
      envelope: '{}',
      error: null,
      received_at: createdAt,
      trace_id: null,
    })
    .execute();
}

it('drops partitions past RETENTION_DAYS and keeps everything younger', async () => {
  // Months from 2025-06 to now; with 400 days the cutoff is 2025-10-17.
  await sql`SELECT ctc_ensure_monthly_partitions(t, '2025-06-01'::date, '2026-12-01'::date)
            FROM unnest(ARRAY['notifications', 'messages', 'events']) AS t`.execute(testDb.db);

  const expired = await movementWithMessage(month('2025-06'), new Date('2025-07-20T00:00:00Z'));
  // First seen in an expired month but still active inside the window: its month stays.
  const stillActive = await movementWithMessage(month('2025-08'), new Date('2025-11-02T00:00:00Z'));
  const recent = await movementWithMessage(month('2026-11'), new Date('2026-11-20T00:00:00Z'));
  await notificationAt(new Date('2025-06-15T00:00:00Z'));
  await notificationAt(new Date('2026-11-20T00:00:00Z'));
  await notificationAt(new Date('2019-01-01T00:00:00Z')); // no partition: lands in the default one
  await testDb.db
    .insertInto('events')
    .values({ kind: 'old', data: '{}', created_at: new Date('2025-06-15T00:00:00Z') } as never)
    .execute();
  await testDb.db.insertInto('events').values({ kind: 'recent', data: '{}' }).execute();

  const report = await applyRetention(testDb.db, 400, now);

  expect(report.droppedPartitions).toEqual(
    expect.arrayContaining([
      'notifications_2025_06',
      'events_2025_06',
      'messages_2025_06',
      'notifications_2025_09',
    ]),
  );
  expect(report.droppedPartitions).not.toContain('messages_2025_08');
  expect(report.droppedPartitions).not.toContain('notifications_2025_10');
  expect(await partitionsOf('notifications')).not.toContain('notifications_2025_06');
  expect(await partitionsOf('notifications')).toContain('notifications_2025_10');

  const movements = (await testDb.db.selectFrom('movements').select('movement_id').execute()).map(
    (row) => row.movement_id,
  );
  expect(movements).not.toContain(expired);
  expect(movements).toEqual(expect.arrayContaining([stillActive, recent]));
  const messageMovements = (
    await testDb.db.selectFrom('messages').select('movement_id').execute()
  ).map((row) => row.movement_id);
  expect(messageMovements.sort()).toEqual([stillActive, recent].sort());

  const notifications = await testDb.db.selectFrom('notifications').select('created_at').execute();
  expect(notifications.map((row) => row.created_at.toISOString())).toEqual([
    '2026-11-20T00:00:00.000Z',
  ]);
  const events = await testDb.db.selectFrom('events').select('kind').execute();
  expect(events.map((row) => row.kind)).toEqual(['recent']);

  // Repeating finds nothing more to do.
  const again = await applyRetention(testDb.db, 400, now);
  expect(again.droppedPartitions).toEqual([]);
  expect(again.deletedMovements).toBe(0);
});
