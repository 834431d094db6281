/**
 * End-to-end ingest through the real receiver and worker: N signed notifications with ~2 KB
 * inline IE028 pushed from a separate process; measures acknowledgements at the receiver and
 * rows committed in PostgreSQL.  tsx bench/src/ingest-quick.ts [count] [concurrency]
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { createDb } from '@ctc-hub/db';
import { deleteKeysWithPrefix, dropDatabase } from '@ctc-hub/testing';
import { startStack } from '../../scripts/stack.js';
import { benchPushSecret, percentiles, round, runLoad, writeNotificationRequests } from './lib.js';

const count = Number(process.argv[2] ?? 20_000);
const concurrency = Number(process.argv[3] ?? 64);
const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const dbName = `ctc_bench_${Date.now()}`;
const prefix = `{bench${randomBytes(3).toString('hex')}}`;

const stack = await startStack({
  DATABASE_URL: `${server}/${dbName}`,
  QUEUE_PREFIX: prefix,
  HTTP_HOST: '127.0.0.1',
  RECEIVER_PORT: '0',
  API_PORT: '0',
  WORKER_PORT: '0',
  LOG_LEVEL: 'warn',
  PPNS_PUSH_SECRETS: benchPushSecret,
  HMRC_API_BASE_URL: 'http://127.0.0.1:9',
  HMRC_CLIENT_ID: 'bench',
  HMRC_CLIENT_SECRET: 'bench',
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => key.startsWith('INGEST_') || key === 'DATABASE_POOL_MAX',
    ),
  ),
});
const db = createDb({ url: `${server}/${dbName}`, poolMax: 2 });
try {
  const { file } = writeNotificationRequests(count);
  const load = await runLoad({ file, url: `${stack.receiverUrl}/ppns/callback`, concurrency });
  const deadline = Date.now() + 120_000;
  let stored = 0;
  while (Date.now() < deadline) {
    stored = (
      await db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'stored')
        .executeTakeFirstOrThrow()
    ).n;
    if (stored >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const timing = await sql<{ first: Date; last: Date; latency: number[] }>`
    SELECT min(received_at) AS first, max(processed_at) AS last,
           array_agg(extract(epoch FROM processed_at - received_at) * 1000) AS latency
      FROM notifications`.execute(db);
  const row = timing.rows[0]!;
  const spanSeconds = (row.last.getTime() - row.first.getTime()) / 1000;
  process.stdout.write(
    `${JSON.stringify(
      {
        notifications: count,
        concurrency,
        receiver: {
          perSecond: round(load.perSecond),
          statuses: load.statuses,
          ackLatencyMs: Object.fromEntries(
            Object.entries(load.latencyMs).map(([k, v]) => [k, round(v, 2)]),
          ),
        },
        stored,
        storedPerSecond: round(stored / spanSeconds),
        receivedToStoredMs: Object.fromEntries(
          Object.entries(percentiles(row.latency.map(Number))).map(([k, v]) => [k, round(v)]),
        ),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await db.destroy();
  await stack.stop();
  await dropDatabase(server, dbName);
  await deleteKeysWithPrefix(stack.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix);
}
