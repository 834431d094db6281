// Risk retired: a bulk replay re-runs exactly the dead letters its dry run counted, no faster
// than REPLAY_RATE_PER_SECOND (no replay storm), and exactly once per letter even when the job
// runs twice at the same time or resumes after dying between marking a letter and queueing its
// job. A key scoped to other EORIs can neither see nor act on these letters.
import { jobIds, queueNames } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { call, malformedMessage, pushNotification, replayFinished } from './replay-support.js';
import { hex16, startE2E, type E2E } from './support.js';

const ratePerSecond = 5;
const scopedKey = 'replay-scoped-key';
const scopedEori = 'GB222222222222';

let e2e: E2E;
let connection: Redis;
let ingestQueue: Queue;
let opsQueue: Queue;
beforeAll(async () => {
  e2e = await startE2E({
    REPLAY_RATE_PER_SECOND: String(ratePerSecond),
    API_KEYS: `dev-api-key,${scopedKey}:${scopedEori}`,
  });
  connection = new Redis(e2e.redis.url, { maxRetriesPerRequest: null });
  ingestQueue = new Queue(queueNames.ingest, { connection, prefix: e2e.redis.prefix });
  opsQueue = new Queue(queueNames.ops, { connection, prefix: e2e.redis.prefix });
}, 60_000);
afterAll(async () => {
  await ingestQueue?.close();
  await opsQueue?.close();
  connection?.disconnect();
  await e2e?.stop();
});

/** `count` notifications that are quarantined every time they are processed, for `eori`. */
async function brokenLetters(eori: string, count: number) {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const { notificationId } = await pushNotification(
      e2e,
      malformedMessage(eori, hex16(), hex16()),
    );
    ids.push(notificationId);
  }
  return waitFor(
    async () => {
      const rows = await e2e.testDb.db
        .selectFrom('dead_letters')
        .selectAll()
        .where('notification_id', 'in', ids)
        .orderBy('created_at')
        .execute();
      return rows.length === count ? rows : undefined;
    },
    { what: `${count} dead letters for ${eori}` },
  );
}

const lettersAfterReplay = (ids: string[]) =>
  waitFor(
    async () => {
      const rows = await e2e.testDb.db
        .selectFrom('dead_letters')
        .selectAll()
        .where('id', 'in', ids)
        .execute();
      // Each replayed notification fails again: its letter is open with a second occurrence.
      return rows.every((row) => row.occurrences === 2 && row.status === 'open') ? rows : undefined;
    },
    { timeoutMs: 30_000, what: 'every replayed letter failed again' },
  );

const replayJobsOf = async (notificationId: string) =>
  Promise.all(
    [1, 2].map(async (attempt) =>
      (await ingestQueue.getJob(`${jobIds.ingest(notificationId)}-r${attempt}`)) !== undefined
        ? attempt
        : null,
    ),
  ).then((found) => found.filter((attempt) => attempt !== null));

it('replays the dry run set, paced, once per letter even when two runs overlap', async () => {
  const eori = 'GB100000000001';
  const letters = await brokenLetters(eori, 6);
  const filter = { kind: 'notification', eori };

  const dry = await call(e2e, 'POST', '/v1/dead-letters/replay', { dryRun: true, ...filter });
  expect(dry).toMatchObject({ status: 200, body: { count: 6, byKind: { notification: 6 } } });
  const mismatch = await call(e2e, 'POST', '/v1/dead-letters/replay', {
    kind: 'fetch-message',
    eori,
    confirmation: dry.body.confirmation,
  });
  expect(mismatch).toMatchObject({ status: 409, body: { code: 'CONFIRMATION_MISMATCH' } });

  const started = await call(e2e, 'POST', '/v1/dead-letters/replay', {
    ...filter,
    confirmation: dry.body.confirmation,
  });
  expect(started).toMatchObject({ status: 202, body: { total: 6 } });
  const replayId = started.body.replayId as string;
  // A second run of the same replay at the same time (as when a stalled job is picked up
  // while the first worker still runs it).
  await opsQueue.add('replay', { replayId }, { jobId: `${jobIds.replay(replayId)}-twin` });

  const finished = await replayFinished(e2e, replayId);
  expect(finished).toMatchObject({
    status: 'done',
    total: 6,
    replayed: 6,
    skipped: 0,
    failed: 0,
    pending: 0,
    problems: [],
  });
  const after = await lettersAfterReplay(letters.map((letter) => letter.id));
  expect(after.map((letter) => letter.replay_count)).toEqual([1, 1, 1, 1, 1, 1]);
  for (const letter of letters) expect(await replayJobsOf(letter.notification_id!)).toEqual([1]);

  // Paced: N letters at R per second span at least (N - 1) / R seconds of replayed_at.
  const times = after.map((letter) => letter.replayed_at!.getTime()).sort((a, b) => a - b);
  expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((6 - 1) / ratePerSecond) * 1000);

  const audit = await e2e.testDb.db
    .selectFrom('audit_log')
    .select(['actor', 'action', 'outcome', 'target', 'details'])
    // Connecting the test's trader is audited too; this test is about the replay.
    .where('action', 'not like', 'connection.%')
    .orderBy('id')
    .execute();
  expect(audit.map((entry) => [entry.action, entry.outcome])).toEqual([
    ['dead-letter.replay.dry-run', 'ok'],
    ['dead-letter.replay.bulk', 'refused'],
    ['dead-letter.replay.bulk', 'accepted'],
    ['replay.finished', 'done'],
  ]);
  expect(audit[3]).toMatchObject({
    actor: 'system:replay',
    target: { replayId },
    details: { total: 6, replayed: 6, skipped: 0, failed: 0 },
  });
}, 60_000);

it('resumes a replay that died after marking a letter, without queueing it twice', async () => {
  const [claimed, pending] = await brokenLetters('GB100000000002', 2);
  // The state a crash leaves: letter 1 marked replayed and its item claimed, job never added.
  const replay = await e2e.testDb.db
    .insertInto('replays')
    .values({ requested_by: 'test', filter: JSON.stringify({}), total: 2, replayed: 1 })
    .returning(['id', 'created_at'])
    .executeTakeFirstOrThrow();
  const claimedJob = `${jobIds.ingest(claimed!.notification_id!)}-r1`;
  await e2e.testDb.db
    .updateTable('dead_letters')
    .set({ status: 'replayed', replay_count: 1, replayed_at: new Date() })
    .where('id', '=', claimed!.id)
    .execute();
  await e2e.testDb.db
    .insertInto('replay_items')
    .values([
      {
        replay_id: replay.id,
        position: 1,
        dead_letter_id: claimed!.id,
        state: 'queuing',
        job_id: claimedJob,
        processed_at: new Date(),
      },
      { replay_id: replay.id, position: 2, dead_letter_id: pending!.id },
    ])
    .execute();
  expect(await ingestQueue.getJob(claimedJob)).toBeUndefined();

  await opsQueue.add('replay', { replayId: replay.id }, { jobId: jobIds.replay(replay.id) });
  expect(await replayFinished(e2e, replay.id)).toMatchObject({
    status: 'done',
    total: 2,
    replayed: 2,
  });
  const after = await lettersAfterReplay([claimed!.id, pending!.id]);
  expect(after.map((letter) => letter.replay_count)).toEqual([1, 1]);
  expect(await replayJobsOf(claimed!.notification_id!)).toEqual([1]);
  expect(await replayJobsOf(pending!.notification_id!)).toEqual([1]);

  // Running the job once more changes nothing.
  const again = await opsQueue.add(
    'replay',
    { replayId: replay.id },
    { jobId: `${jobIds.replay(replay.id)}-again` },
  );
  await waitFor(async () => (await again.getState()) === 'completed', { what: 'second run' });
  const rows = await e2e.testDb.db
    .selectFrom('dead_letters')
    .select(['replay_count', 'occurrences'])
    .where('id', 'in', [claimed!.id, pending!.id])
    .execute();
  expect(rows).toEqual([
    { replay_count: 1, occurrences: 2 },
    { replay_count: 1, occurrences: 2 },
  ]);
  expect(await replayJobsOf(claimed!.notification_id!)).toEqual([1]);
}, 60_000);

it('skips letters resolved meanwhile and counts kinds that cannot be replayed as failed', async () => {
  const [open, resolved] = await brokenLetters('GB100000000004', 2);
  await e2e.testDb.db
    .updateTable('dead_letters')
    .set({ status: 'resolved' })
    .where('id', '=', resolved!.id)
    .execute();
  const refusedByDatabase = await e2e.testDb.db
    .insertInto('dead_letters')
    .values({
      dedupe_key: `message:departure/${hex16()}/${hex16()}`,
      kind: 'message',
      error_code: 'STORE_REFUSED',
      error_message: 'the database refused this record',
      payload: JSON.stringify({ movementType: 'departure' }),
      eori: 'GB100000000004',
      notification_id: null,
      box_id: null,
      queue: 'ingest',
      job_id: null,
      movement_type: null,
      movement_id: null,
      message_id: null,
      replayed_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const replay = await e2e.testDb.db
    .insertInto('replays')
    .values({ requested_by: 'test', filter: JSON.stringify({}), total: 3 })
    .returning('id')
    .executeTakeFirstOrThrow();
  await e2e.testDb.db
    .insertInto('replay_items')
    .values(
      [open!.id, resolved!.id, refusedByDatabase.id].map((id, index) => ({
        replay_id: replay.id,
        position: index + 1,
        dead_letter_id: id,
      })),
    )
    .execute();

  await opsQueue.add('replay', { replayId: replay.id }, { jobId: jobIds.replay(replay.id) });
  expect(await replayFinished(e2e, replay.id)).toMatchObject({
    status: 'done',
    total: 3,
    replayed: 1,
    skipped: 1,
    failed: 1,
    problems: [
      { deadLetterId: resolved!.id, state: 'skipped', reason: 'the dead letter is resolved' },
      {
        deadLetterId: refusedByDatabase.id,
        state: 'failed',
        reason: expect.stringMatching(/keeps only references/),
      },
    ],
  });
  const untouched = await e2e.testDb.db
    .selectFrom('dead_letters')
    .select(['id', 'status', 'replay_count'])
    .where('id', 'in', [resolved!.id, refusedByDatabase.id])
    .orderBy('kind')
    .execute();
  expect(untouched).toEqual([
    { id: refusedByDatabase.id, status: 'open', replay_count: 0 },
    { id: resolved!.id, status: 'resolved', replay_count: 0 },
  ]);
  expect(await replayJobsOf(resolved!.notification_id!)).toEqual([]);
});

it("keeps a scoped key away from other traders' letters", async () => {
  const [letter] = await brokenLetters('GB100000000003', 1);
  const asScoped = (method: string, path: string, body?: unknown) =>
    call(e2e, method, path, body, scopedKey);
  expect((await asScoped('GET', `/v1/dead-letters/${letter!.id}`)).status).toBe(404);
  expect((await asScoped('POST', `/v1/dead-letters/${letter!.id}/replay`)).status).toBe(404);
  expect((await asScoped('DELETE', `/v1/dead-letters/${letter!.id}`)).status).toBe(404);
  const dry = await asScoped('POST', '/v1/dead-letters/purge', {
    dryRun: true,
    eori: 'GB100000000003',
  });
  expect(dry).toMatchObject({ status: 200, body: { count: 0 } });
  const row = await e2e.testDb.db
    .selectFrom('dead_letters')
    .select(['status', 'replay_count'])
    .where('id', '=', letter!.id)
    .executeTakeFirstOrThrow();
  expect(row).toEqual({ status: 'open', replay_count: 0 });
  const denied = await e2e.testDb.db
    .selectFrom('audit_log')
    .select(['actor', 'action', 'outcome'])
    .where('target', '@>', JSON.stringify({ deadLetterId: letter!.id }) as never)
    .orderBy('id')
    .execute();
  expect(denied.map((entry) => [entry.action, entry.outcome])).toEqual([
    ['dead-letter.replay', 'not-found'],
    ['dead-letter.purge', 'not-found'],
  ]);
  expect(new Set(denied.map((entry) => entry.actor)).size).toBe(1);
});
