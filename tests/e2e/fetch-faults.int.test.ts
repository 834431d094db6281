// Risk retired: a message announced without its body is never lost and never fetched blindly.
// HMRC 5xx and 429 are retried (429 without spending attempts), an oversize body and an EORI
// nobody connected end as visible dead letters with the notification quarantined.
import { jobIds, queueNames } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { hex16, startE2E, type E2E } from './support.js';

let e2e: E2E;
let hmrcQueue: Queue;
let connection: Redis;
beforeAll(async () => {
  e2e = await startE2E({ FETCH_MAX_ATTEMPTS: '3', MAX_MESSAGE_BYTES: '150000' });
  connection = new Redis(e2e.redis.url, { maxRetriesPerRequest: null });
  hmrcQueue = new Queue(queueNames.hmrc, { connection, prefix: e2e.redis.prefix });
}, 60_000);
afterAll(async () => {
  await hmrcQueue?.close();
  connection?.disconnect();
  await e2e?.stop();
});
afterEach(() => e2e.stack.sandbox!.controls.clearFaults());

const bodyPaths = '/messages/[0-9a-f]{16}/body$';

const stats = () => e2e.stack.sandbox!.controls.stats();

const notificationStatus = async (id: string) => (await e2e.api(`/v1/notifications/${id}`)).body;

it('retries a body fetch through HMRC 5xx answers until it succeeds', async () => {
  e2e.stack.sandbox!.controls.setFaults({
    api: { paths: bodyPaths, errorRate: 1, errorStatuses: [503] },
  });
  const departureId = hex16();
  const injected = await e2e.inject('departure', departureId, {
    messageType: 'IE029',
    size: 100_000,
  });
  const job = await waitFor(
    async () => {
      const found = await hmrcQueue.getJob(
        jobIds.fetch('departure', departureId, injected.messageId),
      );
      return found !== undefined && found.attemptsMade >= 1 ? found : undefined;
    },
    { what: 'a failed fetch attempt' },
  );
  expect(job.attemptsMade).toBeGreaterThanOrEqual(1);
  expect((await notificationStatus(injected.notificationId!)).status).toBe('queued');

  e2e.stack.sandbox!.controls.clearFaults();
  await e2e.waitForMessages('departure', departureId, 1, 20_000);
  expect((await notificationStatus(injected.notificationId!)).status).toBe('stored');
});

it('waits out 429 Retry-After without spending the attempts', async () => {
  const before = stats().throttled.fault;
  e2e.stack.sandbox!.controls.setFaults({
    api: { paths: bodyPaths, throttleRate: 1, retryAfterSeconds: 1 },
  });
  const departureId = hex16();
  const injected = await e2e.inject('departure', departureId, {
    messageType: 'IE029',
    size: 100_000,
  });
  // More 429s than FETCH_MAX_ATTEMPTS (3): counted as attempts, they would dead-letter the job.
  await waitFor(() => stats().throttled.fault - before >= 4, {
    timeoutMs: 20_000,
    what: 'four 429s served',
  });
  e2e.stack.sandbox!.controls.clearFaults();
  await e2e.waitForMessages('departure', departureId, 1, 20_000);
  const letters = await e2e.testDb.db
    .selectFrom('dead_letters')
    .select('id')
    .where('message_id', '=', injected.messageId)
    .execute();
  expect(letters).toHaveLength(0);
}, 40_000);

it('turns a body larger than MAX_MESSAGE_BYTES into a dead letter and quarantines the notification', async () => {
  const departureId = hex16();
  const injected = await e2e.inject('departure', departureId, {
    messageType: 'IE029',
    size: 200_000,
  });
  const status = await waitFor(
    async () => {
      const body = await notificationStatus(injected.notificationId!);
      return body.status === 'quarantined' ? body : undefined;
    },
    { what: 'quarantined notification' },
  );
  expect(status.error).toMatch(/too-large/);
  const letter = await e2e.testDb.db
    .selectFrom('dead_letters')
    .select(['kind', 'error_code', 'movement_id'])
    .where('message_id', '=', injected.messageId)
    .executeTakeFirstOrThrow();
  expect(letter).toEqual({
    kind: 'fetch-message',
    error_code: 'FETCH_REFUSED',
    movement_id: departureId,
  });
});

it('keeps retrying when nobody connected the EORI, then leaves a dead letter saying so', async () => {
  const departureId = hex16();
  const injected = await e2e.inject(
    'departure',
    departureId,
    { messageType: 'IE029', size: 100_000 },
    'GB999999999999',
  );
  const letter = await waitFor(
    () =>
      e2e.testDb.db
        .selectFrom('dead_letters')
        .select(['kind', 'error_code', 'error_message', 'error_history'])
        .where('message_id', '=', injected.messageId)
        .executeTakeFirst(),
    { timeoutMs: 30_000, what: 'dead letter' },
  );
  expect(letter).toMatchObject({ kind: 'fetch-message', error_code: 'RETRIES_EXHAUSTED' });
  expect(letter.error_message).toMatch(/GB999999999999/);
  expect(letter.error_history.length).toBeGreaterThanOrEqual(3);
  expect((await notificationStatus(injected.notificationId!)).status).toBe('quarantined');
}, 40_000);
