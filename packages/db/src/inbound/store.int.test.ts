// Risk retired: the micro-batched store is idempotent at every level (notification, movement,
// message, dead letter) under repeats and concurrency, keeps message bytes exact, and derives
// movement status from the set of messages rather than their arrival order.
import { createTestDatabase, hex16, type TestDatabase } from '@ctc-hub/testing';
import { messageRecord, notificationFacts } from './ingest-fixtures.js';
import { storeIngestBatch } from './store.js';
import type { IngestRecord, MessageStatusFact } from './types.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.destroy();
});

// A tiny stand-in for packages/ncts deriveMovementStatus: highest-ranked type wins.
const rank = ['IE015', 'IE928', 'IE028', 'IE029'];
const deriveStatus = (_type: string, facts: readonly MessageStatusFact[]) => {
  const best = Math.max(...facts.map((fact) => rank.indexOf(fact.messageType ?? '')));
  return ['submitted', 'acknowledged', 'mrn_allocated', 'released'][best] ?? 'unknown';
};

const notification = notificationFacts;

const count = async (
  table: 'notifications' | 'messages' | 'movements' | 'dead_letters',
  where: [string, string],
) => {
  const row = await testDb.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(where[0] as never, '=', where[1] as never)
    .executeTakeFirstOrThrow();
  return row.n;
};

it('stores a message byte-for-byte with its movement, notification and events', async () => {
  const record = messageRecord(hex16(), 'IE028');
  const [outcome] = await storeIngestBatch(testDb.db, [record], deriveStatus);
  expect(outcome).toEqual({
    notification: 'stored',
    messageStored: true,
    movementCreated: true,
    movementStatus: 'mrn_allocated',
  });

  const stored = await testDb.db
    .selectFrom('messages')
    .select(['body', 'size_bytes', 'sha256', 'request_id', 'box_id'])
    .where('message_id', '=', record.message.messageId)
    .executeTakeFirstOrThrow();
  expect(stored.body.equals(record.message.body)).toBe(true);
  expect(stored.size_bytes).toBe(record.message.body.length);
  expect(stored.request_id).toBe(record.movement.requestId);

  const movement = await testDb.db
    .selectFrom('movements')
    .selectAll()
    .where('movement_id', '=', record.movement.movementId)
    .executeTakeFirstOrThrow();
  expect(movement).toMatchObject({
    status: 'mrn_allocated',
    mrn: '24GB00000000000017',
    message_count: 1,
    box_id: record.movement.boxId,
  });

  const events = await testDb.db
    .selectFrom('events')
    .select(['kind'])
    .where('movement_id', '=', record.movement.movementId)
    .execute();
  expect(events.map((event) => event.kind).sort()).toEqual([
    'message.received',
    'movement.created',
    'movement.status_changed',
  ]);
});

it('keeps one notification row and one message row when the same notification is stored five times at once', async () => {
  const record = messageRecord(hex16(), 'IE928');
  const outcomes = await Promise.all(
    Array.from({ length: 5 }, () => storeIngestBatch(testDb.db, [record], deriveStatus)),
  );
  const flat = outcomes.flat();
  expect(flat.filter((outcome) => outcome.notification === 'stored')).toHaveLength(1);
  expect(flat.filter((outcome) => outcome.notification === 'redelivered')).toHaveLength(4);
  expect(
    await count('notifications', ['notification_id', record.notification!.notificationId]),
  ).toBe(1);
  expect(await count('messages', ['message_id', record.message.messageId])).toBe(1);
  const events = await testDb.db
    .selectFrom('events')
    .select('kind')
    .where('message_id', '=', record.message.messageId)
    .execute();
  expect(events).toHaveLength(1);
});

it('marks a second notification carrying an already stored message as duplicate', async () => {
  const first = messageRecord(hex16(), 'IE928');
  const second = { ...first, notification: notification() };
  const outcomes = await storeIngestBatch(testDb.db, [first, second], deriveStatus);
  expect(outcomes.map((outcome) => outcome.notification)).toEqual(['stored', 'duplicate']);
  expect(await count('messages', ['message_id', first.message.messageId])).toBe(1);
});

it('derives the same status whatever the order messages arrive in', async () => {
  const movementId = hex16();
  await storeIngestBatch(testDb.db, [messageRecord(movementId, 'IE029')], deriveStatus);
  await storeIngestBatch(testDb.db, [messageRecord(movementId, 'IE028')], deriveStatus);
  const movement = await testDb.db
    .selectFrom('movements')
    .select(['status', 'message_count'])
    .where('movement_id', '=', movementId)
    .executeTakeFirstOrThrow();
  expect(movement).toEqual({ status: 'released', message_count: 2 });
});

it('settles a queued notification when its fetched message is stored', async () => {
  const movementId = hex16();
  const facts = notification({ messageType: 'IE029' });
  const record = messageRecord(movementId, 'IE029', facts);
  const [queued] = await storeIngestBatch(
    testDb.db,
    [
      {
        kind: 'awaiting-fetch',
        notification: facts,
        movement: record.movement,
        messageId: record.message.messageId,
      },
    ],
    deriveStatus,
  );
  expect(queued?.notification).toBe('queued');
  const fetched = {
    ...record,
    notification: null,
    notificationRef: { notificationId: facts.notificationId, createdAt: facts.createdAt },
  };
  fetched.message = { ...fetched.message, source: 'fetch' };
  const [done] = await storeIngestBatch(testDb.db, [fetched], deriveStatus);
  expect(done).toMatchObject({ notification: 'stored', messageStored: true });
  const row = await testDb.db
    .selectFrom('notifications')
    .select(['status', 'message_id'])
    .where('notification_id', '=', facts.notificationId)
    .executeTakeFirstOrThrow();
  expect(row).toEqual({ status: 'stored', message_id: record.message.messageId });
});

it('quarantines with the raw payload and counts repeats on one dead letter', async () => {
  const facts = notification();
  const quarantine: IngestRecord = {
    kind: 'quarantine',
    notification: facts,
    notificationRef: null,
    deadLetter: {
      subject: { kind: 'notification', notificationId: facts.notificationId },
      queue: 'ingest',
      jobId: 'x',
      errorCode: 'NOT_WELL_FORMED',
      errorMessage: 'XML is not well-formed',
      history: [
        {
          at: new Date().toISOString(),
          code: 'NOT_WELL_FORMED',
          message: 'XML is not well-formed',
        },
      ],
      payload: { envelope: facts.envelope },
      eori: facts.enrollmentEori,
      movementType: 'departure',
      movementId: hex16(),
      messageId: hex16(),
    },
  };
  const [first] = await storeIngestBatch(testDb.db, [quarantine], deriveStatus);
  expect(first?.notification).toBe('quarantined');
  await storeIngestBatch(testDb.db, [quarantine], deriveStatus);
  const dead = await testDb.db
    .selectFrom('dead_letters')
    .selectAll()
    .where('notification_id', '=', facts.notificationId)
    .executeTakeFirstOrThrow();
  expect(dead).toMatchObject({
    kind: 'notification',
    error_code: 'NOT_WELL_FORMED',
    occurrences: 2,
    status: 'open',
  });
  expect(dead.payload).toEqual({ envelope: facts.envelope });
  const row = await testDb.db
    .selectFrom('notifications')
    .select(['status', 'error'])
    .where('notification_id', '=', facts.notificationId)
    .executeTakeFirstOrThrow();
  expect(row).toEqual({ status: 'quarantined', error: 'XML is not well-formed' });
});

it('stores a large batch of distinct movements in one commit', async () => {
  const records = Array.from({ length: 300 }, () => messageRecord(hex16(), 'IE928'));
  const outcomes = await storeIngestBatch(testDb.db, records, deriveStatus);
  expect(
    outcomes.every((outcome) => outcome.messageStored && outcome.notification === 'stored'),
  ).toBe(true);
});
