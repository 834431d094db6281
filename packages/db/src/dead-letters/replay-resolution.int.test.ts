// Risk retired: replayed work settles what it replays. A quarantined notification that is
// processed again becomes stored (or duplicate) instead of staying quarantined, a replayed dead
// letter becomes resolved in the same commit, a replay that fails again reopens its letter with
// the new attempt in its history, and nothing is duplicated along the way.
import { createHash } from 'node:crypto';
import { createTestDatabase, hex16, type TestDatabase } from '@ctc-hub/testing';
import { notificationFacts } from '../inbound/ingest-fixtures.js';
import { storeIngestBatch } from '../inbound/store.js';
import type { IngestRecord, NotificationFacts } from '../inbound/types.js';
import type { DeadLetterSubject } from './keys.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.destroy();
});

const deriveStatus = () => 'submitted';

const notification = notificationFacts;

function message(
  facts: NotificationFacts | null,
  ref: { notificationId: string; createdAt: Date } | null,
  movementId = hex16(),
  messageId = hex16(),
): Extract<IngestRecord, { kind: 'message' }> {
  const body = Buffer.from('<ncts:CC028C xmlns:ncts="http://ncts.dgtaxud.ec"/>');
  return {
    kind: 'message',
    notification: facts,
    notificationRef: ref,
    movement: {
      movementType: 'departure',
      movementId,
      requestId: `/customs/transits/movements/departures/${movementId}`,
      boxId: null,
      enrollmentEori: 'GB123456789000',
      enrollmentVerified: true,
      viaConnection: null,
      movementEori: null,
      mrn: null,
      lrn: null,
      apiVersion: '2.1',
    },
    message: {
      messageId,
      messageType: 'IE028',
      rootElement: 'CC028C',
      phase: 'NCTS5.1',
      direction: 'inbound',
      knownType: true,
      receivedAt: new Date(),
      preparedAt: null,
      messageIdentification: null,
      correlationIdentifier: null,
      mrn: null,
      lrn: null,
      body,
      sha256: createHash('sha256').update(body).digest(),
      summary: {},
      parseError: null,
      source: facts === null ? 'fetch' : 'push',
    },
    statusFact: { messageType: 'IE028', rejectedMessageType: null, invalidationDecision: null },
  };
}

/** The subject whose key (deadLetterKey) the test expects to find stored. */
function subjectOf(dedupeKey: string): DeadLetterSubject {
  const [kind, rest] = dedupeKey.split(':') as [string, string];
  if (kind === 'notification') return { kind, notificationId: rest };
  const [movementType, movementId, messageId] = rest.split('/') as [string, string, string];
  return { kind: 'fetch-message', movementType, movementId, messageId };
}

function quarantine(
  facts: NotificationFacts | null,
  ref: { notificationId: string; createdAt: Date } | null,
  dedupeKey: string,
  code: string,
): IngestRecord {
  return {
    kind: 'quarantine',
    notification: facts,
    notificationRef: ref,
    deadLetter: {
      subject: subjectOf(dedupeKey),
      queue: 'ingest',
      jobId: null,
      errorCode: code,
      errorMessage: `failed with ${code}`,
      history: [{ at: new Date().toISOString(), code, message: `failed with ${code}` }],
      payload: { envelope: facts?.envelope ?? null },
      eori: 'GB123456789000',
      movementType: null,
      movementId: null,
      messageId: null,
    },
  };
}

const letter = (dedupeKey: string) =>
  testDb.db
    .selectFrom('dead_letters')
    .selectAll()
    .where('dedupe_key', '=', dedupeKey)
    .executeTakeFirstOrThrow();

const notificationRow = (id: string) =>
  testDb.db
    .selectFrom('notifications')
    .select(['status', 'error', 'error_history', 'message_id'])
    .where('notification_id', '=', id)
    .execute();

/** What the replay job does before it queues the work. */
const markReplayed = (dedupeKey: string) =>
  testDb.db
    .updateTable('dead_letters')
    .set({ status: 'replayed', replay_count: 1, replayed_at: new Date() })
    .where('dedupe_key', '=', dedupeKey)
    .execute();

it('stores a quarantined notification that is processed again and resolves its replayed letter', async () => {
  const facts = notification();
  const key = `notification:${facts.notificationId}`;
  await storeIngestBatch(
    testDb.db,
    [quarantine(facts, null, key, 'NOT_WELL_FORMED')],
    deriveStatus,
  );
  await markReplayed(key);

  const record = message(facts, null);
  const [outcome] = await storeIngestBatch(testDb.db, [record], deriveStatus);

  expect(outcome).toMatchObject({ notification: 'stored', messageStored: true });
  expect(await notificationRow(facts.notificationId)).toEqual([
    {
      status: 'stored',
      error: null,
      error_history: [expect.objectContaining({ code: 'NOT_WELL_FORMED' })],
      message_id: record.message.messageId,
    },
  ]);
  expect((await letter(key)).status).toBe('resolved');
});

it('marks a replayed notification duplicate when another notification stored its message', async () => {
  const first = notification();
  const stored = message(first, null);
  await storeIngestBatch(testDb.db, [stored], deriveStatus);
  const facts = notification();
  const key = `notification:${facts.notificationId}`;
  await storeIngestBatch(
    testDb.db,
    [quarantine(facts, null, key, 'RETRIES_EXHAUSTED')],
    deriveStatus,
  );
  await markReplayed(key);

  const again = message(facts, null, stored.movement.movementId, stored.message.messageId);
  const [outcome] = await storeIngestBatch(testDb.db, [again], deriveStatus);

  expect(outcome).toMatchObject({ notification: 'duplicate', messageStored: false });
  expect((await notificationRow(facts.notificationId))[0]!.status).toBe('duplicate');
  expect((await letter(key)).status).toBe('resolved');
});

it('completes a notification quarantined by a failed fetch once a replayed fetch stores it', async () => {
  const facts = notification();
  const movementId = hex16();
  const messageId = hex16();
  const pending = message(facts, null, movementId, messageId);
  await storeIngestBatch(
    testDb.db,
    [{ kind: 'awaiting-fetch', notification: facts, movement: pending.movement, messageId }],
    deriveStatus,
  );
  const ref = { notificationId: facts.notificationId, createdAt: facts.createdAt };
  const key = `fetch-message:departure/${movementId}/${messageId}`;
  await storeIngestBatch(
    testDb.db,
    [quarantine(null, ref, key, 'RETRIES_EXHAUSTED')],
    deriveStatus,
  );
  expect((await notificationRow(facts.notificationId))[0]!.status).toBe('quarantined');
  await markReplayed(key);

  const [outcome] = await storeIngestBatch(
    testDb.db,
    [message(null, ref, movementId, messageId)],
    deriveStatus,
  );

  expect(outcome).toMatchObject({ notification: 'stored', messageStored: true });
  expect((await notificationRow(facts.notificationId))[0]).toMatchObject({
    status: 'stored',
    error: null,
  });
  expect((await letter(key)).status).toBe('resolved');
});

it('reopens a replayed letter that fails again, with the new attempt in its history', async () => {
  const facts = notification();
  const key = `notification:${facts.notificationId}`;
  await storeIngestBatch(
    testDb.db,
    [quarantine(facts, null, key, 'NOT_WELL_FORMED')],
    deriveStatus,
  );
  await markReplayed(key);

  await storeIngestBatch(
    testDb.db,
    [quarantine(facts, null, key, 'NOT_WELL_FORMED')],
    deriveStatus,
  );

  const reopened = await letter(key);
  expect(reopened).toMatchObject({ status: 'open', occurrences: 2, replay_count: 1 });
  expect(reopened.error_history).toHaveLength(2);
  const rows = await notificationRow(facts.notificationId);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.status).toBe('quarantined');
  expect(rows[0]!.error_history).toHaveLength(2);
});

it('leaves letters that were not replayed open, and stored notifications as they are', async () => {
  const facts = notification();
  const key = `notification:${facts.notificationId}`;
  await storeIngestBatch(testDb.db, [quarantine(facts, null, key, 'STORE_REFUSED')], deriveStatus);
  const record = message(facts, null);
  await storeIngestBatch(testDb.db, [record], deriveStatus);
  // Open letters are the operator's to look at, even if the notification came good by itself.
  expect((await letter(key)).status).toBe('open');

  const [redelivered] = await storeIngestBatch(testDb.db, [record], deriveStatus);
  expect(redelivered?.notification).toBe('redelivered');
  expect((await notificationRow(facts.notificationId))[0]!.status).toBe('stored');
});
