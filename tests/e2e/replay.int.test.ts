// Risk retired: what failed can be replayed once its cause is fixed, per kind, through the real
// pipeline: a body fetch for an EORI nobody had connected, a notification the database refused,
// and a declaration that failed after its last attempt — which HMRC then receives exactly once,
// even when the earlier attempt had reached it. A replay of something still broken reopens its
// dead letter with the new failure in its history, without duplicating any row.
import { randomUUID } from 'node:crypto';
import { storeIngestBatch } from '@ctc-hub/db';
import { deriveMovementStatus } from '@ctc-hub/ncts';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { formatPpnsDateTime } from '@ctc-hub/ppns';
import { jobIds, queueNames } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { connectEori } from '../../scripts/stack.js';
import {
  call,
  deadLetter,
  malformedMessage,
  pushNotification,
  replayFinished,
} from './replay-support.js';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
let connection: Redis;
let ingestQueue: Queue;
let hmrcQueue: Queue;
beforeAll(async () => {
  e2e = await startE2E({
    FETCH_MAX_ATTEMPTS: '2',
    SUBMIT_MAX_ATTEMPTS: '2',
    // Long enough to change the sandbox's faults between a declaration's two attempts.
    SUBMIT_BACKOFF_BASE_MS: '2000',
  });
  connection = new Redis(e2e.redis.url, { maxRetriesPerRequest: null });
  ingestQueue = new Queue(queueNames.ingest, { connection, prefix: e2e.redis.prefix });
  hmrcQueue = new Queue(queueNames.hmrc, { connection, prefix: e2e.redis.prefix });
}, 60_000);
afterAll(async () => {
  await ingestQueue?.close();
  await hmrcQueue?.close();
  connection?.disconnect();
  await e2e?.stop();
});
afterEach(() => e2e.stack.sandbox!.controls.clearFaults());

const notificationOf = async (id: string) => (await e2e.api(`/v1/notifications/${id}`)).body;

async function replay(letterId: string) {
  const started = await call(e2e, 'POST', `/v1/dead-letters/${letterId}/replay`);
  expect(started.status).toBe(202);
  return replayFinished(e2e, started.body.replayId);
}

it('replays a body fetch once the EORI is connected: message stored, letter resolved', async () => {
  const eori = 'GB999999999001';
  const departureId = hex16();
  const injected = await e2e.inject(
    'departure',
    departureId,
    { messageType: 'IE029', size: 100_000 },
    eori,
  );
  const key = `fetch-message:departure/${departureId}/${injected.messageId}`;
  const failed = await deadLetter(e2e, key);
  expect(failed).toMatchObject({ kind: 'fetch-message', status: 'open', eori });
  expect((await notificationOf(injected.notificationId!)).status).toBe('quarantined');

  await connectEori(e2e.stack, eori);
  const finished = await replay(failed.id);
  expect(finished).toMatchObject({ status: 'done', total: 1, replayed: 1, failed: 0 });

  const resolved = await deadLetter(e2e, key, (row) => row.status === 'resolved');
  expect(resolved).toMatchObject({ replay_count: 1, occurrences: 1 });
  expect(resolved.replayed_at).toBeInstanceOf(Date);
  const [stored] = await e2e.waitForMessages('departure', departureId, 1);
  expect(stored).toMatchObject({ id: injected.messageId, type: 'IE029' });
  const bytes = await e2e.api(
    `/customs/transits/movements/departures/${departureId}/messages/${injected.messageId}/body`,
  );
  // Too big to travel inline: these bytes came from the replayed fetch.
  expect(bytes.status).toBe(200);
  expect(bytes.bytes.length).toBeGreaterThan(80_000);
  expect(await notificationOf(injected.notificationId!)).toMatchObject({
    status: 'stored',
    error: null,
  });
  // The failed fetch job is still there; the replay ran under a new id.
  const fetchJob = jobIds.fetch('departure', departureId, injected.messageId);
  expect(await hmrcQueue.getJobState(fetchJob)).toBe('failed');
  expect(await hmrcQueue.getJobState(`${fetchJob}-r1`)).toBe('completed');
}, 60_000);

it('stores a notification the database had refused once it is replayed', async () => {
  // What the ingest store writes when Postgres refuses a record (STORE_REFUSED): the notification
  // quarantined and a dead letter holding its envelope.
  const notificationId = randomUUID();
  const departureId = hex16();
  const messageId = hex16();
  const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  const envelope = JSON.stringify({
    notificationId,
    boxId: e2e.stack.env.SANDBOX_BOX_ID,
    messageContentType: 'application/json',
    message: JSON.stringify({
      messageUri: `/customs/transits/movements/departures/${departureId}/messages/${messageId}`,
      notificationType: 'MESSAGE_RECEIVED',
      messageId,
      enrollmentEORINumber: traderEori,
      departureId,
      messageType: 'IE028',
      messageBody: buildMessage('IE028', { eori: traderEori }),
    }),
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(createdAt),
  });
  const key = `notification:${notificationId}`;
  await storeIngestBatch(
    e2e.testDb.db,
    [
      {
        kind: 'quarantine',
        notification: {
          notificationId,
          createdAt,
          boxId: e2e.stack.env.SANDBOX_BOX_ID!,
          source: 'push',
          receivedAt: new Date(),
          envelope,
          payloadVersion: 'v2',
          notificationType: 'MESSAGE_RECEIVED',
          messageType: 'IE028',
          enrollmentEori: traderEori,
          traceId: null,
        },
        notificationRef: null,
        deadLetter: {
          subject: { kind: 'notification', notificationId },
          queue: 'ingest',
          jobId: null,
          errorCode: 'STORE_REFUSED',
          errorMessage: 'the database refused this record: deadlock detected',
          history: [{ at: new Date().toISOString(), code: 'STORE_REFUSED', message: 'refused' }],
          payload: { envelope },
          eori: traderEori,
          movementType: 'departure',
          movementId: departureId,
          messageId,
        },
      },
    ],
    deriveMovementStatus,
  );
  const letter = await deadLetter(e2e, key);

  expect(await replay(letter.id)).toMatchObject({ status: 'done', replayed: 1 });
  await deadLetter(e2e, key, (row) => row.status === 'resolved');
  const [stored] = await e2e.waitForMessages('departure', departureId, 1);
  expect(stored).toMatchObject({ id: messageId, type: 'IE028' });
  expect(await notificationOf(notificationId)).toMatchObject({ status: 'stored', error: null });
  expect((await ingestQueue.getJob(`${jobIds.ingest(notificationId)}-r1`))?.data).toMatchObject({
    notificationId,
    source: 'replay',
    envelope,
  });
});

it('reopens the letter of a notification that is still broken, with one more failure and no duplicates', async () => {
  const messageId = hex16();
  const { notificationId } = await pushNotification(
    e2e,
    malformedMessage(traderEori, hex16(), messageId),
  );
  const key = `notification:${notificationId}`;
  const first = await deadLetter(e2e, key);
  expect(first).toMatchObject({ status: 'open', occurrences: 1, replay_count: 0 });

  expect(await replay(first.id)).toMatchObject({ status: 'done', replayed: 1 });
  const again = await deadLetter(e2e, key, (row) => row.occurrences === 2);
  expect(again).toMatchObject({ id: first.id, status: 'open', replay_count: 1 });
  expect(again.error_history).toHaveLength(2);
  expect(again.error_history[1]!.code).toBe(again.error_code);

  const rows = await e2e.testDb.db
    .selectFrom('notifications')
    .select(['status', 'error_history'])
    .where('notification_id', '=', notificationId)
    .execute();
  expect(rows).toHaveLength(1);
  expect(rows[0]!.status).toBe('quarantined');
  expect(rows[0]!.error_history).toHaveLength(2);
  const letters = await e2e.testDb.db
    .selectFrom('dead_letters')
    .select('id')
    .where('notification_id', '=', notificationId)
    .execute();
  expect(letters).toHaveLength(1);
  const messages = await e2e.testDb.db
    .selectFrom('messages')
    .select('message_id')
    .where('message_id', '=', messageId)
    .execute();
  expect(messages).toHaveLength(0);
  // The first ingest job still exists: only a new job id could run the notification again.
  expect(await ingestQueue.getJob(jobIds.ingest(notificationId))).toBeDefined();
  expect(await ingestQueue.getJob(`${jobIds.ingest(notificationId)}-r1`)).toBeDefined();
});

describe('a failed declaration, replayed', () => {
  const departures = '^/customs/transits/movements/departures$';
  const lrn = () => `LRN${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;
  const atHmrc = (reference: string) =>
    e2e.stack
      .sandbox!.controls.movements()
      .filter((movement) => movement.type === 'departure' && movement.lrn === reference);
  const submission = async (id: string) => (await e2e.api(`/v1/submissions/${id}`)).body;
  const submissionWhen = (id: string, until: (body: any) => boolean, what: string) =>
    waitFor(
      async () => {
        const body = await submission(id);
        return until(body) ? body : undefined;
      },
      { timeoutMs: 30_000, what },
    );

  async function declare(reference: string): Promise<string> {
    const response = await fetch(`${e2e.stack.apiUrl}/v1/departures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e2e.stack.apiKey}`, 'content-type': 'application/xml' },
      body: buildMessage('IE015', { lrn: reference, eori: traderEori }),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { submissionId: string }).submissionId;
  }

  it('is not sent again when the earlier attempt had reached HMRC', async () => {
    const reference = lrn();
    // Attempt 1 is stored by HMRC but its answer is lost; attempt 2 cannot even check.
    e2e.stack.sandbox!.controls.setFaults({ api: { paths: departures, acceptThenResetRate: 1 } });
    const id = await declare(reference);
    await submissionWhen(id, (body) => body.attempts.length >= 1, 'the lost first attempt');
    e2e.stack.sandbox!.controls.setFaults({
      api: { paths: departures, errorRate: 1, errorStatuses: [503] },
    });
    const failed = await submissionWhen(id, (body) => body.status === 'failed', 'failed');
    expect(failed.attempts.map((attempt: { outcome: string }) => attempt.outcome)).toEqual([
      'unknown',
      'check-failed',
    ]);
    expect(atHmrc(reference)).toHaveLength(1);
    const letter = await deadLetter(e2e, `submit:${id}`);
    e2e.stack.sandbox!.controls.clearFaults();

    expect(await replay(letter.id)).toMatchObject({ status: 'done', replayed: 1 });
    const accepted = await submissionWhen(id, (body) => body.status === 'accepted', 'accepted');
    expect(accepted.attempts.at(-1)).toMatchObject({ outcome: 'found-at-hmrc' });
    expect(atHmrc(reference)).toHaveLength(1);
    expect(accepted.movementId).toBe(atHmrc(reference)[0]!.id);
    await deadLetter(e2e, `submit:${id}`, (row) => row.status === 'resolved');
  }, 60_000);

  it('is sent once when no earlier attempt had reached HMRC', async () => {
    const reference = lrn();
    e2e.stack.sandbox!.controls.setFaults({
      api: { paths: departures, errorRate: 1, errorStatuses: [503] },
    });
    const id = await declare(reference);
    await submissionWhen(id, (body) => body.status === 'failed', 'failed');
    expect(atHmrc(reference)).toHaveLength(0);
    const letter = await deadLetter(e2e, `submit:${id}`);
    e2e.stack.sandbox!.controls.clearFaults();

    await replay(letter.id);
    const accepted = await submissionWhen(id, (body) => body.status === 'accepted', 'accepted');
    expect(accepted.attempts.at(-1)).toMatchObject({ outcome: 'accepted', httpStatus: 202 });
    expect(atHmrc(reference)).toHaveLength(1);
    const resolved = await deadLetter(e2e, `submit:${id}`, (row) => row.status === 'resolved');
    expect(resolved.replay_count).toBe(1);

    // Replaying it again is a no-op: the letter is resolved.
    const again = await call(e2e, 'POST', `/v1/dead-letters/${letter.id}/replay`);
    expect(again).toMatchObject({ status: 200, body: { replayId: null, status: 'resolved' } });
    expect(atHmrc(reference)).toHaveLength(1);
  }, 60_000);
});
