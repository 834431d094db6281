// Risk retired: a submission answered 202 is never stranded when its job did not make it into
// Redis (Redis down at the time, or its data lost): the relay queues it again, once.
import { createHash } from 'node:crypto';
import { createSubmission } from '@ctc-hub/db';
import { createLogger } from '@ctc-hub/telemetry';
import { createQueue, createRedis, jobIds, queueNames } from '@ctc-hub/queue';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '@ctc-hub/testing';
import { sql } from 'kysely';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startOutboxRelay } from './outbox-relay.js';

let testDb: TestDatabase;
let redis: TestRedis;
let connection: Redis;
let queue: Queue;
beforeAll(async () => {
  testDb = await createTestDatabase();
  redis = createTestRedis();
  connection = createRedis(redis.url, 'worker');
  queue = createQueue(queueNames.hmrc, connection, redis.prefix);
});
afterAll(async () => {
  await queue.close();
  connection.disconnect();
  await redis.cleanup();
  await testDb.destroy();
});

async function submission(status: 'queued' | 'sending' | 'accepted', ageSeconds: number) {
  const body = Buffer.from(
    `<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec">${Math.random()}</ncts:CC015C>`,
  );
  const created = await createSubmission(testDb.db, {
    eori: 'GB123456789000',
    apiKeyId: 'abcd1234',
    idempotencyKey: null,
    bodySha256: createHash('sha256').update(body).digest(),
    movementType: 'departure',
    messageType: 'IE015',
    movementId: null,
    lrn: 'LRN1',
    mrn: null,
    messageIdentification: 'M1',
    apiVersion: '2.1',
    route: 'small',
    body,
  });
  if (created.kind !== 'created') throw new Error(`expected a new submission, got ${created.kind}`);
  await testDb.db
    .updateTable('submissions')
    .set({ status, updated_at: sql`now() - make_interval(secs => ${ageSeconds})` })
    .where('id', '=', created.submission.id)
    .execute();
  return created.submission.id;
}

it('re-queues stranded queued and sending submissions, and nothing else', async () => {
  const stranded = await submission('queued', 120);
  const midSend = await submission('sending', 120);
  const fresh = await submission('queued', 0);
  const done = await submission('accepted', 120);
  const relay = startOutboxRelay({
    db: testDb.db,
    hmrcQueue: queue,
    logger: createLogger({ service: 'test', level: 'silent' }),
    submitAttempts: 5,
    intervalMs: 60_000,
  });
  try {
    expect(await relay.runOnce()).toBe(2);
    expect((await queue.getJob(jobIds.submit(stranded)))?.opts.attempts).toBe(5);
    expect(await queue.getJob(jobIds.submit(midSend))).toBeDefined();
    expect(await queue.getJob(jobIds.submit(fresh))).toBeUndefined();
    expect(await queue.getJob(jobIds.submit(done))).toBeUndefined();
    // A second pass finds the jobs in place and adds nothing.
    expect(await relay.runOnce()).toBe(0);
  } finally {
    relay.stop();
  }
});
