/**
 * CPU per request of the api's main thread on chosen reads of a seeded scale database
 * (bench/src/scale.ts's endpoints), for profiling the api alone:
 *
 *   SCALE_DB=<name> SCALE_ONLY=movement,list pnpm exec tsx bench/src/scale-cpu.ts
 *   node --cpu-prof --import tsx bench/src/scale-cpu.ts   (profile of the main thread)
 *
 * Without SCALE_DB it seeds a quick-size database and keeps it (its name is printed).
 * SCALE_CONCURRENCY (default 32), SCALE_DURATION_MS (default 3000).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createApiApp } from '@ctc-hub/api';
import { loadApiConfig } from '@ctc-hub/config';
import { createDb, createPool, prepareDatabase } from '@ctc-hub/db';
import { NctsParser, XsdValidator } from '@ctc-hub/ncts';
import { createQueue, createRedis, queueNames } from '@ctc-hub/queue';
import { createLogger, initTelemetry, listen } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix } from '@ctc-hub/testing';
import { sql } from 'kysely';
import {
  endpoints,
  httpLoad,
  recordingDb,
  sampleIds,
  sqlLoad,
  type Statement,
  withCpu,
} from './scale-reads.js';
import { eoriOf, seedYear } from './scale-seed.js';

const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = (line: string) => process.stderr.write(`scale-cpu: ${line}\n`);
const plan = {
  movements: Number(process.env.SCALE_MOVEMENTS ?? 20_000),
  eoris: 300,
  deadLetters: 500,
};
const keys = { all: 'bench-scale-all', scoped: 'bench-scale-scoped', small: 'bench-scale-small' };

let dbName = process.env.SCALE_DB;
const now = new Date();
if (dbName === undefined) {
  dbName = `ctc_scale_cpu_${Date.now()}_${randomBytes(2).toString('hex')}`;
  const admin = createDb({ url: `${serverUrl}/${dbName}`, poolMax: 2 });
  await prepareDatabase(admin, `${serverUrl}/${dbName}`);
  log(`seeding ${dbName}`);
  log(JSON.stringify(await seedYear(admin, plan, now)));
  await admin.destroy();
  log(`kept database ${dbName}`);
}
const databaseUrl = `${serverUrl}/${dbName}`;
const config = loadApiConfig({
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  QUEUE_PREFIX: `{benchcpu${randomBytes(3).toString('hex')}}`,
  REDIS_DURABILITY: 'allow-volatile',
  API_KEYS: `${keys.all}:*,${keys.scoped}:${eoriOf(0)},${keys.small}:${eoriOf(plan.eoris - 10)}`,
  API_RATE_LIMIT_PER_SECOND: process.env.SCALE_RATE ?? '0',
  API_MAX_CONCURRENT_REQUESTS_PER_KEY: process.env.SCALE_MAX_CONCURRENT ?? '0',
  HMRC_API_BASE_URL: 'http://127.0.0.1:9',
  HMRC_CLIENT_ID: 'bench',
  HMRC_CLIENT_SECRET: 'bench',
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  LOG_LEVEL: 'silent',
});
const pool = createPool({
  url: databaseUrl,
  poolMax: config.DATABASE_POOL_MAX,
  applicationName: 'ctc-hub-api',
});
const recorder = recordingDb(pool);
const redis = createRedis(redisUrl, 'client');
const producer = createRedis(redisUrl, 'producer');
const queues = [queueNames.ingest, queueNames.hmrc, queueNames.ops].map((name) =>
  createQueue(name, producer, config.QUEUE_PREFIX),
);
const validator = new XsdValidator();
const parser = new NctsParser();
const app = createApiApp(
  {
    config,
    db: recorder.db,
    redis,
    ingestQueue: queues[0]!,
    hmrcQueue: queues[1]!,
    opsQueue: queues[2]!,
    validator,
    parser,
    logger: createLogger({ service: 'api', level: 'silent' }),
    telemetry: initTelemetry({ serviceName: 'ctc-hub-api', sampleRatio: 0 }),
  },
  {},
);
const { server, port } = await listen(app, 0, '127.0.0.1');
const baseUrl = `http://127.0.0.1:${port}`;
const big = await sql<{ movementId: string; messageId: string }>`
  SELECT movement_id AS "movementId", message_id AS "messageId" FROM messages
   ORDER BY size_bytes DESC LIMIT 1`.execute(recorder.db);
const samples = await sampleIds(recorder.db, big.rows[0]!);
const only = process.env.SCALE_ONLY?.split(',');
const concurrency = Number(process.env.SCALE_CONCURRENCY ?? 32);
const durationMs = Number(process.env.SCALE_DURATION_MS ?? 3000);
log(
  `load ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
for (const endpoint of endpoints(samples, plan, now)) {
  if (only !== undefined && !only.includes(endpoint.id)) continue;
  const hmrcPath = endpoint.urls[0]!.startsWith('/customs/');
  const body = endpoint.urls[0]!.split('?')[0]!.endsWith('/body');
  const headers = {
    authorization: `Bearer ${endpoint.scoped === true ? keys.scoped : endpoint.scoped === 'small' ? keys.small : keys.all}`,
    ...(hmrcPath ? { accept: `application/vnd.hmrc.2.1+${body ? 'xml' : 'json'}` } : {}),
  };
  const captured: Statement[][] = [];
  for (const url of endpoint.urls) {
    const { statements } = await recorder.capture(async () => {
      const response = await fetch(`${baseUrl}${url}`, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    });
    captured.push(statements);
  }
  const sqlSide =
    process.env.SCALE_SQL === '0'
      ? undefined
      : await withCpu(pool, () => sqlLoad(pool, captured, concurrency, durationMs));
  const api = await withCpu(pool, () =>
    httpLoad(baseUrl, endpoint.urls, headers, concurrency, durationMs),
  );
  log(
    `${endpoint.id}: api ${api.perSecond}/s p50 ${api.p50} p99 ${api.p99} ms, CPU µs/req node ${api.nodeCpuUs} (sys ${api.nodeSystemCpuUs}) pg ${api.postgresCpuUs}` +
      (sqlSide === undefined
        ? ''
        : ` | sql ${sqlSide.perSecond}/s p99 ${sqlSide.p99} ms, node ${sqlSide.nodeCpuUs} (sys ${sqlSide.nodeSystemCpuUs}) pg ${sqlSide.postgresCpuUs} | ratio ${(api.perSecond / sqlSide.perSecond).toFixed(2)}`),
  );
}
log(
  `load ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
server.closeAllConnections();
server.close();
await Promise.all(queues.map((queue) => queue.close()));
await Promise.all([validator.close(), parser.close()]);
await deleteKeysWithPrefix(redisUrl, config.QUEUE_PREFIX).catch(() => undefined);
producer.disconnect();
redis.disconnect();
await pool.end();
