// Risk retired: a dead-letter replay whose BullMQ job Redis lost (or that failed for good) stays
// `running` for ever and its letters are never re-run. The watchdog queues it again, once.
import { createQueue, createRedis, jobIds, queueNames } from '@ctc-hub/queue';
import { createLogger } from '@ctc-hub/telemetry';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@ctc-hub/testing';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { OpsDeps } from '../runtime/deps.js';
import { resumeOrphanedReplays } from './replay-watchdog.js';

let testDb: TestDatabase;
const redis = createTestRedis();
let connection: Redis;
let ops: Queue;
let deps: OpsDeps;

beforeAll(async () => {
  testDb = await createTestDatabase();
  connection = createRedis(redis.url, 'producer');
  ops = createQueue(queueNames.ops, connection, redis.prefix);
  deps = {
    db: testDb.db,
    logger: createLogger({ service: 'watchdog-test', level: 'silent' }),
    queues: { ops, ingest: ops, hmrc: ops },
  } as unknown as OpsDeps;
});
afterAll(async () => {
  await ops.close();
  connection.disconnect();
  await redis.cleanup();
  await testDb.destroy();
});

async function replayRow(status: 'running' | 'done', ageSeconds: number): Promise<string> {
  const row = await testDb.db
    .insertInto('replays')
    .values({
      requested_by: 'test',
      filter: '{}',
      status,
      created_at: sql<Date>`now() - make_interval(secs => ${ageSeconds})`,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

it('queues a running replay whose job is gone, and only once', async () => {
  const orphan = await replayRow('running', 300);
  const young = await replayRow('running', 5);
  const finished = await replayRow('done', 300);

  expect(await resumeOrphanedReplays(deps)).toEqual([orphan]);
  const job = await ops.getJob(jobIds.replay(orphan));
  expect(job?.data).toEqual({ replayId: orphan });
  expect(await ops.getJob(jobIds.replay(young))).toBeUndefined();
  expect(await ops.getJob(jobIds.replay(finished))).toBeUndefined();

  // The job is waiting now: nothing to do on the next round.
  expect(await resumeOrphanedReplays(deps)).toEqual([]);
  await testDb.db.updateTable('replays').set({ status: 'done' }).where('id', '=', orphan).execute();
});

it('re-queues a replay whose job failed for good', async () => {
  const stuck = await replayRow('running', 300);
  const job = await ops.add('replay', { replayId: stuck }, { jobId: jobIds.replay(stuck) });
  await job.moveToFailed(new Error('lost its lock'), '0', false).catch(async () => {
    // Not fetched by a worker, so no token: fail it the way BullMQ's scripts allow.
    await connection.zadd(`${redis.prefix}:${queueNames.ops}:failed`, Date.now(), job.id!);
    await connection.lrem(`${redis.prefix}:${queueNames.ops}:wait`, 0, job.id!);
  });
  expect(await job.getState()).toBe('failed');

  expect(await resumeOrphanedReplays(deps)).toEqual([stuck]);
  expect(await (await ops.getJob(jobIds.replay(stuck)))!.getState()).toBe('waiting');
});
