// Risk retired: large dead-letter replays holding every ops slot of a worker for hours, so the
// reconcile tick (everyone's reconciliation) never runs while they last. Replays may take all
// but one of a process's ops slots; the others wait in the queue without spending an attempt.
import { createQueue, createRedis, jobIds, jobs, queueNames } from '@ctc-hub/queue';
import { createLogger } from '@ctc-hub/telemetry';
import { createTestDatabase, createTestRedis, waitFor, type TestDatabase } from '@ctc-hub/testing';
import { Worker, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { OpsDeps } from '../runtime/deps.js';
import { createOpsProcessor, opsConcurrency } from '../handlers.js';

const replays = opsConcurrency + 1;
const lettersEach = 20;

let testDb: TestDatabase;
const redis = createTestRedis();
let producer: Redis;
let workerConnection: Redis;
let ops: Queue;
let ingest: Queue;
let worker: Worker | undefined;

beforeAll(async () => {
  testDb = await createTestDatabase();
  producer = createRedis(redis.url, 'producer');
  workerConnection = createRedis(redis.url, 'worker');
  ops = createQueue(queueNames.ops, producer, redis.prefix);
  ingest = createQueue(queueNames.ingest, producer, redis.prefix);
});
afterAll(async () => {
  await worker?.close(true);
  await ops.close();
  await ingest.close();
  producer.disconnect();
  workerConnection.disconnect();
  await redis.cleanup();
  await testDb.destroy();
});

/** A replay of `lettersEach` quarantined notifications (each re-queued for ingest when run). */
async function replayOfLetters(): Promise<string> {
  const { id } = await testDb.db
    .insertInto('replays')
    .values({ requested_by: 'slots-test', filter: '{}', total: lettersEach })
    .returning('id')
    .executeTakeFirstOrThrow();
  await sql`
    WITH letters AS (
      INSERT INTO dead_letters (dedupe_key, kind, error_code, error_message, error_history,
                                payload, notification_id, box_id, status, created_at, updated_at)
      SELECT 'notification:' || n.id, 'notification', 'XML_INVALID', 'not well-formed', '[]',
             '{"envelope": "{}"}', n.id, gen_random_uuid(), 'open', now(), now()
        FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, ${lettersEach}::int)) n
      RETURNING id)
    INSERT INTO replay_items (replay_id, position, dead_letter_id)
    SELECT ${id}::uuid, row_number() OVER (ORDER BY id), id FROM letters`.execute(testDb.db);
  return id;
}

it('keeps an ops slot for the reconcile tick while more replays than slots run', async () => {
  const ids: string[] = [];
  for (let index = 0; index < replays; index += 1) ids.push(await replayOfLetters());
  const deps = {
    // Two letters a second between all replays: they last far longer than the test waits.
    config: { QUEUE_PREFIX: redis.prefix, REPLAY_RATE_PER_SECOND: 2, RECONCILE_ENABLED: false },
    db: testDb.db,
    logger: createLogger({ service: 'ops-slots-test', level: 'silent' }),
    redis: producer,
    queues: { ingest, hmrc: ingest, ops },
  } as unknown as OpsDeps;
  worker = new Worker(queueNames.ops, createOpsProcessor(deps), {
    connection: workerConnection,
    prefix: redis.prefix,
    concurrency: opsConcurrency,
  });
  for (const id of ids)
    await ops.add(jobs.replay.name, { replayId: id }, { jobId: jobIds.replay(id) });

  // The replays have started (and taken what slots they may) before the tick arrives.
  await waitFor(
    async () =>
      (await testDb.db.selectFrom('replays').select('id').where('replayed', '>', 0).execute())
        .length >=
      opsConcurrency - 1,
    { what: 'replays to start' },
  );
  const tick = await ops.add(jobs.reconcileTick.name, {});
  await waitFor(async () => (await tick.getState()) === 'completed', {
    timeoutMs: 20_000,
    what: 'the reconcile tick to run',
  });

  const progress = await testDb.db
    .selectFrom('replays')
    .select(['status', 'replayed'])
    .where('id', 'in', ids)
    .execute();
  // It ran while every replay was still running: it did not have to wait for one to end.
  expect(progress.map((replay) => replay.status)).toEqual(Array(replays).fill('running'));
  // And no more replays than slots minus one were ever under way.
  expect(progress.filter((replay) => replay.replayed > 0).length).toBe(opsConcurrency - 1);
}, 40_000);
