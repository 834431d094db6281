// Risk retired: a notification whose record the database refuses makes its micro-batch
// neighbours fail, retry, or show its error. Through the receiver, worker and api, as a user
// sees it: the neighbours are stored at their first attempt with no error, and
// GET /v1/notifications/{id} shows the refused one with its own error (quarantined at once when
// the refusal is about its content, queued for a retry otherwise).
import { randomUUID } from 'node:crypto';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { createQueue, createRedis, jobIds, queueNames } from '@ctc-hub/queue';
import { ppnsEnvelope, pushToCallback, v2MessageReceived, waitFor } from '@ctc-hub/testing';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
let connection: Redis;
let ingestQueue: Queue;
beforeAll(async () => {
  // A wide batching window, so notifications pushed together are stored in one transaction.
  e2e = await startE2E({ INGEST_BATCH_MAX_WAIT_MS: '300' });
  connection = createRedis(e2e.redis.url, 'producer');
  ingestQueue = createQueue(queueNames.ingest, connection, e2e.redis.prefix);
  // Test-only: raise a chosen SQLSTATE when a message of a marked movement is inserted.
  await sql`CREATE TABLE test_poison (movement_id text PRIMARY KEY, sqlstate text NOT NULL, text text NOT NULL)`.execute(
    e2e.testDb.db,
  );
  await sql`
    CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE marked test_poison;
    BEGIN
      SELECT * INTO marked FROM test_poison WHERE movement_id = NEW.movement_id;
      IF FOUND THEN RAISE EXCEPTION USING ERRCODE = marked.sqlstate, MESSAGE = marked.text; END IF;
      RETURN NEW;
    END $$`.execute(e2e.testDb.db);
  await sql`CREATE TRIGGER test_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION test_poison()`.execute(
    e2e.testDb.db,
  );
}, 60_000);
afterAll(async () => {
  await ingestQueue?.close();
  connection?.disconnect();
  await e2e?.stop();
});

/** Pushes, as PPNS does, an IE028 with its body inline for a new departure; returns its ids. */
async function pushIE028(departureId = hex16()) {
  const notificationId = randomUUID();
  const body = ppnsEnvelope({
    notificationId,
    boxId: e2e.stack.env.SANDBOX_BOX_ID,
    message: v2MessageReceived({
      movementId: departureId,
      messageId: hex16(),
      messageType: 'IE028',
      eori: traderEori,
      messageBody: buildMessage('IE028', { eori: traderEori }),
    }),
  });
  const response = await pushToCallback(`${e2e.stack.receiverUrl}/ppns/callback`, body, {
    secret: e2e.stack.env.PPNS_PUSH_SECRETS!.split(',')[0]!,
  });
  expect(response.status).toBe(200);
  return { notificationId, departureId };
}

async function poison(departureId: string, sqlState: string, text: string) {
  await sql`INSERT INTO test_poison VALUES (${departureId}, ${sqlState}, ${text})`.execute(
    e2e.testDb.db,
  );
}

const notificationView = (notificationId: string, until: (body: any) => boolean) =>
  waitFor(
    async () => {
      const { status, body } = await e2e.api(`/v1/notifications/${notificationId}`);
      return status === 200 && until(body) ? body : undefined;
    },
    { timeoutMs: 20_000, what: `notification ${notificationId}` },
  );

async function expectStoredAtFirstAttempt(notificationId: string) {
  const view = await notificationView(notificationId, (body) => body.status !== 'queued');
  expect(view).toMatchObject({ status: 'stored', error: null, errorHistory: [] });
  // Its job never failed: it was not handed the refused record's error, even for one attempt.
  const job = await ingestQueue.getJob(jobIds.ingest(notificationId));
  // (BullMQ counts the successful attempt too.)
  expect(job?.attemptsMade).toBe(1);
  expect(job?.stacktrace).toEqual([]);
  expect(job?.failedReason ?? null).toBeNull();
}

it('quarantines at once, with its own error, a notification refused for its content (54000); its neighbours are stored', async () => {
  const badDeparture = hex16();
  await poison(badDeparture, '54000', 'index row size 8016 exceeds btree version 4 maximum 2704');
  const pushed = await Promise.all([
    pushIE028(),
    pushIE028(),
    pushIE028(badDeparture),
    pushIE028(),
  ]);
  const bad = pushed[2]!;

  const view = await notificationView(bad.notificationId, (body) => body.status !== 'queued');
  const ownError =
    'the database refused this record (SQLSTATE 54000): index row size 8016 exceeds btree version 4 maximum 2704';
  expect(view).toMatchObject({
    status: 'quarantined',
    error: ownError,
    errorHistory: [{ code: 'STORE_REFUSED', message: ownError }],
  });
  const letters = await e2e.api(`/v1/dead-letters?kind=notification&status=open`);
  const mine = letters.body.deadLetters.filter(
    (letter: { notificationId: string | null }) => letter.notificationId !== null,
  );
  expect(mine.map((letter: { notificationId: string }) => letter.notificationId)).toEqual([
    bad.notificationId,
  ]);
  for (const neighbour of pushed.filter((entry) => entry !== bad))
    await expectStoredAtFirstAttempt(neighbour.notificationId);
});

it('retries alone, showing its own error, a notification refused for another reason (XX000); its neighbours are stored', async () => {
  const badDeparture = hex16();
  await poison(badDeparture, 'XX000', 'unexpected chunk number 0 for toast value 4711');
  const pushed = await Promise.all([
    pushIE028(),
    pushIE028(badDeparture),
    pushIE028(),
    pushIE028(),
  ]);
  const bad = pushed[1]!;

  const waiting = await notificationView(bad.notificationId, (body) => body.error !== null);
  expect(waiting).toMatchObject({
    status: 'queued',
    error:
      'the database refused this record (SQLSTATE XX000): unexpected chunk number 0 for toast value 4711',
  });
  expect(waiting.queue.attemptsMade).toBeGreaterThanOrEqual(1);
  for (const neighbour of pushed.filter((entry) => entry !== bad))
    await expectStoredAtFirstAttempt(neighbour.notificationId);

  // The cause goes away: the next attempt (backoff about a second) stores it.
  await sql`DELETE FROM test_poison WHERE movement_id = ${badDeparture}`.execute(e2e.testDb.db);
  const stored = await notificationView(bad.notificationId, (body) => body.status !== 'queued');
  expect(stored).toMatchObject({ status: 'stored', error: null });
});
