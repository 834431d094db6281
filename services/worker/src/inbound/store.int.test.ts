// Risk retired: one record the database refuses (for any reason, not only SQLSTATE 22/23) fails
// its micro-batch neighbours or lends them its error. Its neighbours must commit, and only it
// is quarantined or retried, with its own error. A failure of the database itself must fail the
// whole batch for a later retry, quarantining nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IngestOutcome, IngestRecord } from '@ctc-hub/db';
import { NctsParser } from '@ctc-hub/ncts';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { createLogger, noopMeter } from '@ctc-hub/telemetry';
import {
  createTestDatabase,
  hex16,
  ppnsEnvelope,
  testBoxId,
  v2MessageReceived,
  type TestDatabase,
} from '@ctc-hub/testing';
import { sql } from 'kysely';
import { decideIngest } from './decide.js';
import { IngestStore } from './store.js';

let testDb: TestDatabase;
const parser = new NctsParser();
const logger = createLogger({ service: 'store-test', level: 'silent' });

beforeAll(async () => {
  testDb = await createTestDatabase();
  // Test-only instruments that make real PostgreSQL refuse chosen records:
  //  - a btree index on a summary field, so a long incompressible value is over the btree row
  //    limit (the engine's own 54000, program_limit_exceeded);
  //  - a trigger that raises a chosen SQLSTATE for messages of a marked movement.
  await sql`CREATE INDEX test_remark_idx ON messages ((summary ->> 'remark'))`.execute(testDb.db);
  await sql`CREATE TABLE test_poison (movement_id text PRIMARY KEY, sqlstate text NOT NULL, text text NOT NULL)`.execute(
    testDb.db,
  );
  await sql`
    CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE marked test_poison;
    BEGIN
      SELECT * INTO marked FROM test_poison WHERE movement_id = NEW.movement_id;
      IF FOUND THEN RAISE EXCEPTION USING ERRCODE = marked.sqlstate, MESSAGE = marked.text; END IF;
      RETURN NEW;
    END $$`.execute(testDb.db);
  await sql`CREATE TRIGGER test_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION test_poison()`.execute(
    testDb.db,
  );
});
afterAll(async () => {
  await parser.close();
  await testDb.destroy();
});

/** A pushed IE028 with its body inline, as the ingest processor would hand it to the store. */
async function pushed(options: { remark?: string } = {}) {
  const departureId = hex16();
  const notificationId = randomUUID();
  const envelope = ppnsEnvelope({
    notificationId,
    message: v2MessageReceived({
      movementId: departureId,
      messageId: hex16(),
      messageType: 'IE028',
      messageBody: buildMessage('IE028', { eori: 'GB123456789000' }),
    }),
  });
  const { record } = await decideIngest(
    {
      notificationId,
      boxId: testBoxId,
      envelope,
      receivedAt: new Date().toISOString(),
      source: 'push',
      trace: {},
    },
    parser,
    { apiVersion: '2.1', jobId: `ntf-${notificationId}`, traceId: null },
  );
  if (record.kind !== 'message') throw new Error(`expected a message record, got ${record.kind}`);
  if (options.remark !== undefined) record.message.summary.remark = options.remark;
  return { record: record as IngestRecord, notificationId, departureId };
}

/** Incompressible text well over btree's 2,704-byte row limit once indexed. */
const overBtreeLimit = () => randomBytes(6000).toString('base64');

async function poison(departureId: string, sqlState: string, text: string) {
  await sql`INSERT INTO test_poison VALUES (${departureId}, ${sqlState}, ${text})`.execute(
    testDb.db,
  );
}

/** A store whose batches flush only when full, so these records are one micro-batch. */
function batchOf(size: number) {
  return new IngestStore(testDb.db, logger, {
    maxBatch: size,
    maxWaitMs: 60_000,
    meter: noopMeter,
  });
}

async function storeTogether(records: IngestRecord[]) {
  const store = batchOf(records.length);
  const settled = await Promise.allSettled(records.map((record) => store.store(record)));
  await store.close();
  return settled;
}

const notificationRow = (notificationId: string) =>
  testDb.db
    .selectFrom('notifications')
    .select(['status', 'error'])
    .where('notification_id', '=', notificationId)
    .executeTakeFirst();

const deadLetter = (notificationId: string) =>
  testDb.db
    .selectFrom('dead_letters')
    .select(['error_code', 'error_message'])
    .where('dedupe_key', '=', `notification:${notificationId}`)
    .executeTakeFirst();

const messageCount = async (departureId: string) =>
  (
    await testDb.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('movement_id', '=', departureId)
      .executeTakeFirstOrThrow()
  ).n;

const fulfilled = (result: PromiseSettledResult<IngestOutcome>) => {
  if (result.status !== 'fulfilled') throw result.reason;
  return result.value;
};

it('stores the neighbours and quarantines, with its own error, a record over the btree limit (54000)', async () => {
  const good = await Promise.all([pushed(), pushed(), pushed(), pushed()]);
  const bad = await pushed({ remark: overBtreeLimit() });
  const records = [good[0]!, good[1]!, bad, good[2]!, good[3]!];

  const settled = await storeTogether(records.map((entry) => entry.record));

  expect(fulfilled(settled[2]!).notification).toBe('quarantined');
  for (const [index, entry] of records.entries()) {
    if (entry === bad) continue;
    expect(fulfilled(settled[index]!)).toMatchObject({
      notification: 'stored',
      messageStored: true,
    });
    expect(await notificationRow(entry.notificationId)).toEqual({ status: 'stored', error: null });
    expect(await messageCount(entry.departureId)).toBe(1);
    expect(await deadLetter(entry.notificationId)).toBeUndefined();
  }
  const row = await notificationRow(bad.notificationId);
  expect(row?.status).toBe('quarantined');
  expect(row?.error).toMatch(/^the database refused this record \(SQLSTATE 54000\): index row/);
  expect(await deadLetter(bad.notificationId)).toEqual({
    error_code: 'STORE_REFUSED',
    error_message: row?.error,
  });
  expect(await messageCount(bad.departureId)).toBe(0);
});

it('fails only the record refused for another reason (XX000), with its own error, and stores it once the cause is gone', async () => {
  const entries = await Promise.all([pushed(), pushed(), pushed(), pushed(), pushed()]);
  const bad = entries[3]!;
  await poison(bad.departureId, 'XX000', 'unexpected chunk number 0 for toast value 4711');

  const settled = await storeTogether(entries.map((entry) => entry.record));

  const failure = settled[3]!;
  expect(failure.status).toBe('rejected');
  expect((failure as PromiseRejectedResult).reason.message).toBe(
    'the database refused this record (SQLSTATE XX000): unexpected chunk number 0 for toast value 4711',
  );
  // Not quarantined at once: its job retries with backoff (and is dead-lettered with this error).
  expect(await notificationRow(bad.notificationId)).toBeUndefined();
  expect(await deadLetter(bad.notificationId)).toBeUndefined();
  for (const [index, entry] of entries.entries()) {
    if (entry === bad) continue;
    expect(fulfilled(settled[index]!).notification).toBe('stored');
    expect(await notificationRow(entry.notificationId)).toEqual({ status: 'stored', error: null });
  }

  await sql`DELETE FROM test_poison WHERE movement_id = ${bad.departureId}`.execute(testDb.db);
  const [retried] = await storeTogether([bad.record]);
  expect(fulfilled(retried!).notification).toBe('stored');
  expect(await notificationRow(bad.notificationId)).toEqual({ status: 'stored', error: null });
});

it('gives each of two bad records in one batch its own error, never the other one', async () => {
  const entries = await Promise.all(Array.from({ length: 8 }, () => pushed()));
  const retried = entries[1]!;
  await poison(retried.departureId, 'P0001', 'refused by a trigger for this movement only');
  const tooLarge = await pushed({ remark: overBtreeLimit() });
  entries.splice(6, 0, tooLarge);

  const settled = await storeTogether(entries.map((entry) => entry.record));

  expect((settled[1] as PromiseRejectedResult).reason.message).toBe(
    'the database refused this record (SQLSTATE P0001): refused by a trigger for this movement only',
  );
  expect(fulfilled(settled[6]!).notification).toBe('quarantined');
  const quarantined = await notificationRow(tooLarge.notificationId);
  expect(quarantined?.error).toContain('SQLSTATE 54000');
  expect(quarantined?.error).not.toContain('trigger');
  const stored = settled.filter(
    (result) => result.status === 'fulfilled' && result.value.notification === 'stored',
  );
  expect(stored).toHaveLength(7);
});

it('fails the whole batch on a database failure (57P01), quarantining nothing, and stores it all on the retry', async () => {
  const entries = await Promise.all([pushed(), pushed(), pushed(), pushed()]);
  const marked = entries[2]!;
  await poison(marked.departureId, '57P01', 'terminating connection due to administrator command');

  const settled = await storeTogether(entries.map((entry) => entry.record));

  for (const [index, entry] of entries.entries()) {
    expect(settled[index]!.status).toBe('rejected');
    expect((settled[index] as PromiseRejectedResult).reason).toMatchObject({ code: '57P01' });
    expect(await notificationRow(entry.notificationId)).toBeUndefined();
    expect(await deadLetter(entry.notificationId)).toBeUndefined();
  }

  await sql`DELETE FROM test_poison WHERE movement_id = ${marked.departureId}`.execute(testDb.db);
  const again = await storeTogether(entries.map((entry) => entry.record));
  for (const result of again) expect(fulfilled(result).notification).toBe('stored');
});
