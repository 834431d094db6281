/**
 * Benchmark 7: reads at a year's scale (issue 14 §1).
 *
 *  1. seed a database as a large forwarder's year leaves it (bench/src/scale-seed.ts), timed;
 *  2. every read our users make, through the real api app and as the same statements on the same
 *     pg pool (bench/src/scale-reads.ts), at concurrency 1 and 32: throughput, p50/p99, ratio;
 *     EXPLAIN (ANALYZE, BUFFERS) of the statements of any endpoint that misses a target;
 *  3. ingest (our receiver and worker) on that database against an empty one: stored/s and
 *     push → committed;
 *  4. retention dropping the oldest month on that database: time, and the longest a reader
 *     probing the messages table every few ms waited meanwhile;
 *  5. each endpoint against HMRC's 3 requests/s per application.
 *
 *   pnpm exec tsx bench/src/scale.ts [--quick]
 * For experiments: SCALE_MOVEMENTS (size), SCALE_ONLY=list,movement (endpoint ids),
 * SCALE_DURATION_MS (per side and concurrency).
 * The database is dropped at the end unless SCALE_KEEP_DB=1 (then its name is printed).
 */
import { createHash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiApp } from '@ctc-hub/api';
import { loadApiConfig } from '@ctc-hub/config';
import { applyRetention, createDb, createPool, prepareDatabase } from '@ctc-hub/db';
import { NctsParser, XsdValidator } from '@ctc-hub/ncts';
import { buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { createQueue, createRedis, queueNames } from '@ctc-hub/queue';
import { createLogger, initTelemetry, listen } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix, dropDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { notificationTemplate, round, startLoadGenerator } from './lib.js';
import {
  assertAllAccepted,
  CommitWatcher,
  latencyRun,
  startSide,
  stopSide,
  type Side,
} from './ingest.js';
import { runIfMain, thousands, type Bench, type BenchTarget } from './report.js';
import {
  endpoints,
  floorServer,
  httpLoad,
  recordingDb,
  sampleIds,
  sqlLoad,
  type SideFigures,
  type Statement,
  withCpu,
} from './scale-reads.js';
import { eoriOf, seedYear, type SeedPlan } from './scale-seed.js';

const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = (line: string) => process.stderr.write(`scale bench: ${line}\n`);

interface Plan extends SeedPlan {
  durationMs: number;
  /** Ingest comparison: pushed closed loop, then open loop at `ingestRate`/s for `ingestSeconds`. */
  ingestCount: number;
  ingestRate: number;
  ingestSeconds: number;
}

const plans: Record<'quick' | 'full', Plan> = {
  quick: {
    movements: 20_000,
    eoris: 300,
    deadLetters: 500,
    durationMs: 600,
    ingestCount: 500,
    ingestRate: 100,
    ingestSeconds: 2,
  },
  full: {
    movements: 300_000,
    eoris: 300,
    deadLetters: 5_000,
    durationMs: 3_000,
    ingestCount: 10_000,
    ingestRate: 500,
    ingestSeconds: 10,
  },
};
const concurrencies = [1, 32] as const;
const hmrcPerSecond = 3;
const targets = { ratio: 0.5, p99Ms: 50 };
const keys = { all: 'bench-scale-all', scoped: 'bench-scale-scoped', small: 'bench-scale-small' };

/** One 8 MB IE015 added to a seeded departure, for the large-body read. */
async function addBigMessage(db: ReturnType<typeof createDb>) {
  const movement = await sql<{ id: string; month: string; request_id: string }>`
    SELECT movement_id AS id, retention_month::text AS month, request_id FROM movements
     WHERE movement_type = 'departure' ORDER BY created_at DESC LIMIT 1`.execute(db);
  const row = movement.rows[0]!;
  const body = Buffer.from(buildMessageOfSize('IE015', 8 * 1024 * 1024));
  const messageId = randomBytes(8).toString('hex');
  await sql`
    INSERT INTO messages (movement_month, movement_type, movement_id, message_id, message_type,
      direction, known_type, received_at, size_bytes, sha256, summary, source, request_id, body)
    VALUES (${row.month}::date, 'departure', ${row.id}, ${messageId}, 'IE015', 'outbound', true,
      now(), ${body.length}, ${createHash('sha256').update(body).digest()}, '{}'::jsonb,
      'submission', ${row.request_id}, ${body})`.execute(db);
  return { movementId: row.id, messageId, bytes: body.length };
}

interface EndpointFigures {
  id: string;
  what: string;
  statements: number;
  api: Record<string, SideFigures>;
  sql: Record<string, SideFigures>;
  /**
   * A bare node:http server running the same statements and sending the same bytes, at c = 32
   * (scale-reads.ts floorServer): what HTTP itself allows on this machine.
   */
  floorAt32?: SideFigures;
  /** The floor's requests/s over bare SQL's at c = 32: the best ratio any HTTP api could reach. */
  floorRatioAt32?: number;
  ratioAt32: number;
  /**
   * The ratio the measured CPU predicts when nothing else shares the cores: (sql's node + postgres
   * CPU per request) / (api's), at concurrency 32.
   */
  cpuRatioAt32: number;
  p99At32: number;
  timesHmrc: number;
  met: boolean;
  explain?: string[];
}

/**
 * A reader probing the newest messages partition every 2 ms while `run` runs: the longest it
 * waited is the longest lock the run made readers of `messages` wait for.
 */
async function longestReaderWait(pool: ReturnType<typeof createPool>, run: () => Promise<unknown>) {
  let stop = false;
  let longest = 0;
  let probes = 0;
  const probe = (async () => {
    while (!stop) {
      const started = performance.now();
      await pool.query(
        `SELECT count(*) FROM (SELECT 1 FROM messages WHERE movement_month = date_trunc('month', now())::date LIMIT 1) x`,
      );
      longest = Math.max(longest, performance.now() - started);
      probes += 1;
      await sleep(2);
    }
  })();
  await sleep(50);
  const started = performance.now();
  const result = await run();
  const ms = performance.now() - started;
  stop = true;
  await probe;
  return { result, ms: round(ms, 0), longestReaderWaitMs: round(longest, 1), probes };
}

export const bench: Bench = async ({ quick }) => {
  const plan = { ...plans[quick ? 'quick' : 'full'] };
  if (process.env.SCALE_MOVEMENTS !== undefined)
    plan.movements = Number(process.env.SCALE_MOVEMENTS);
  if (process.env.SCALE_DURATION_MS !== undefined)
    plan.durationMs = Number(process.env.SCALE_DURATION_MS);
  const loadAtStart = loadavg().map((value) => round(value, 2));
  const dbName = `ctc_bench_scale_${Date.now()}_${randomBytes(2).toString('hex')}`;
  const databaseUrl = `${serverUrl}/${dbName}`;
  const prefix = `{benchscale${randomBytes(3).toString('hex')}}`;
  const admin = createDb({ url: databaseUrl, poolMax: 2 });
  const keep = process.env.SCALE_KEEP_DB === '1';
  const now = new Date();
  try {
    await prepareDatabase(admin, databaseUrl);
    log(`seeding ${thousands(plan.movements)} movements into ${dbName}`);
    const seed = await seedYear(admin, plan, now);
    log(`seeded in ${seed.seconds} s: ${JSON.stringify(seed)}`);
    const big = await addBigMessage(admin);

    const config = loadApiConfig({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      REDIS_DURABILITY: 'allow-volatile',
      // The biggest EORI (n = 0) and one of the long tail (about 0.1 % of movements).
      API_KEYS: `${keys.all}:*,${keys.scoped}:${eoriOf(0)},${keys.small}:${eoriOf(plan.eoris - 10)}`,
      // The per-key limits would answer 429 to a load test; they are not what is measured.
      API_RATE_LIMIT_PER_SECOND: '0',
      API_MAX_CONCURRENT_REQUESTS_PER_KEY: '0',
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
      createQueue(name, producer, prefix),
    );
    const validator = new XsdValidator();
    const parser = new NctsParser();
    const telemetry = initTelemetry({ serviceName: 'ctc-hub-api', sampleRatio: 0 });
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
        telemetry,
      },
      {},
    );
    const { server, port } = await listen(app, 0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${port}`;
    // HMRC's read routes want HMRC's Accept (406 without): JSON for lists and messages, the raw
    // XML for a message body (what trader software downloading a body asks for).
    const headersOf = (endpoint: { scoped?: true | 'small'; urls: string[] }) => {
      const { scoped } = endpoint;
      const hmrcPath = endpoint.urls[0]?.startsWith('/customs/') ?? false;
      const body = endpoint.urls[0]?.split('?')[0]?.endsWith('/body') ?? false;
      return {
        authorization: `Bearer ${scoped === true ? keys.scoped : scoped === 'small' ? keys.small : keys.all}`,
        ...(hmrcPath ? { accept: `application/vnd.hmrc.2.1+${body ? 'xml' : 'json'}` } : {}),
      };
    };

    const samples = await sampleIds(recorder.db, big);
    const only = process.env.SCALE_ONLY?.split(',');
    const list = endpoints(samples, plan, now).filter(
      (endpoint) => only === undefined || only.includes(endpoint.id),
    );
    const results: EndpointFigures[] = [];
    try {
      for (const endpoint of list) {
        // Capture each URL's statements (and check it answers 200 with something).
        const captured: Statement[][] = [];
        const answers = new Map<string, { statements: Statement[]; body: Buffer; type: string }>();
        for (const url of endpoint.urls) {
          const { result, statements } = await recorder.capture(async () => {
            const response = await fetch(`${baseUrl}${url}`, {
              headers: headersOf(endpoint),
            });
            return {
              status: response.status,
              type: response.headers.get('content-type') ?? 'application/octet-stream',
              body: Buffer.from(await response.arrayBuffer()),
            };
          });
          if (result.status !== 200)
            throw new Error(`${endpoint.id}: ${url} answered ${result.status}`);
          captured.push(statements);
          answers.set(url, { statements, body: result.body, type: result.type });
        }
        const figures: EndpointFigures = {
          id: endpoint.id,
          what: endpoint.what,
          statements: captured[0]!.length,
          api: {},
          sql: {},
          ratioAt32: 0,
          cpuRatioAt32: 0,
          p99At32: 0,
          timesHmrc: 0,
          met: false,
        };
        for (const concurrency of concurrencies) {
          figures.sql[`c${concurrency}`] = await withCpu(pool, () =>
            sqlLoad(pool, captured, concurrency, plan.durationMs),
          );
          figures.api[`c${concurrency}`] = await withCpu(pool, () =>
            httpLoad(baseUrl, endpoint.urls, headersOf(endpoint), concurrency, plan.durationMs),
          );
        }
        // The HTTP floor at c = 32: the same statements and answers behind a bare node:http server.
        const floor = await floorServer(pool, answers);
        try {
          figures.floorAt32 = await withCpu(pool, () =>
            httpLoad(floor.baseUrl, endpoint.urls, headersOf(endpoint), 32, plan.durationMs),
          );
        } finally {
          await floor.close();
        }
        const api32 = figures.api.c32!;
        figures.ratioAt32 = round(api32.perSecond / Math.max(1, figures.sql.c32!.perSecond), 2);
        figures.floorRatioAt32 = round(
          (figures.floorAt32?.perSecond ?? 0) / Math.max(1, figures.sql.c32!.perSecond),
          2,
        );
        const sql32 = figures.sql.c32!;
        figures.cpuRatioAt32 = round(
          ((sql32.nodeCpuUs ?? 0) + (sql32.postgresCpuUs ?? 0)) /
            Math.max(1, (api32.nodeCpuUs ?? 0) + (api32.postgresCpuUs ?? 0)),
          2,
        );
        figures.p99At32 = api32.p99;
        figures.timesHmrc = Math.round(api32.perSecond / hmrcPerSecond);
        figures.met =
          figures.ratioAt32 >= targets.ratio &&
          (endpoint.bulk === true || api32.p99 <= targets.p99Ms);
        if (!figures.met) figures.explain = await explain(pool, captured[0]!);
        log(
          `${endpoint.id} (${figures.statements} statements): sql c1 ${figures.sql.c1!.perSecond}/s p99 ${figures.sql.c1!.p99} ms; api c1 ${figures.api.c1!.perSecond}/s p99 ${figures.api.c1!.p99} ms, c32 ${api32.perSecond}/s p50 ${api32.p50} p99 ${api32.p99} ms; sql c32 ${figures.sql.c32!.perSecond}/s p99 ${figures.sql.c32!.p99} ms; ratio ${figures.ratioAt32} (HTTP floor ${figures.floorAt32?.perSecond}/s: ${figures.floorRatioAt32}); CPU µs/req api ${api32.nodeCpuUs}+${api32.postgresCpuUs} sql ${sql32.nodeCpuUs}+${sql32.postgresCpuUs} → ${figures.cpuRatioAt32}`,
        );
        results.push(figures);
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(queues.map((queue) => queue.close()));
      await Promise.all([validator.close(), parser.close()]);
      producer.disconnect();
      redis.disconnect();
    }

    // Ingest on this database against an empty one: same receiver and worker, same pushes.
    const ingest = await compareIngest(dbName, plan);
    log(`ingest: ${JSON.stringify(ingest)}`);

    // Retention: the oldest month goes once every message of its movements is past the cutoff
    // (movements last 2 days here), so a cutoff 3 days into the second month drops exactly one.
    const secondMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 10, 1);
    const retentionDays = Math.floor((now.getTime() - secondMonth) / 86400_000) - 3;
    const retention = await longestReaderWait(pool, () =>
      applyRetention(recorder.db, retentionDays, now),
    );
    log(`retention: ${JSON.stringify(retention)}`);
    await pool.end();
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);

    const misses = results.filter((row) => !row.met);
    const targetsList: BenchTarget[] = [
      {
        what: 'api vs bare SQL at concurrency 32, every read',
        target: `≥ ${targets.ratio}×`,
        measured: `${results.filter((row) => row.ratioAt32 >= targets.ratio).length} of ${results.length} (lowest ${Math.min(...results.map((row) => row.ratioAt32))}×)`,
        met: results.every((row) => row.ratioAt32 >= targets.ratio),
      },
      {
        what: 'p99 at concurrency 32, every list and single read but the 8 MB body',
        target: `≤ ${targets.p99Ms} ms`,
        measured: `${results.filter((row) => row.id === 'message-body-8mb' || row.p99At32 <= targets.p99Ms).length} of ${results.length} (worst ${Math.max(...results.filter((row) => row.id !== 'message-body-8mb').map((row) => row.p99At32))} ms)`,
        met: results.every((row) => row.id === 'message-body-8mb' || row.p99At32 <= targets.p99Ms),
      },
      {
        what: 'a bare node:http server over the same statements vs bare SQL at c = 32 (what HTTP allows here)',
        target: 'report',
        measured: `${Math.min(...results.map((row) => row.floorRatioAt32 ?? 0))}–${Math.max(...results.map((row) => row.floorRatioAt32 ?? 0))}×`,
        met: true,
      },
      {
        what: 'seed a year (movements / messages)',
        target: 'report',
        measured: `${seed.seconds} s for ${thousands(seed.movements)} / ${thousands(seed.messages)}`,
        met: true,
      },
      {
        what: 'ingest on the seeded database vs an empty one: stored/s, push → committed p99',
        target: '≤ 20 % slower',
        measured: `${thousands(ingest.seeded.storedPerSecond)}/s vs ${thousands(ingest.empty.storedPerSecond)}/s; p99 ${ingest.seeded.latency.pushToCommittedMs.p99} vs ${ingest.empty.latency.pushToCommittedMs.p99} ms`,
        met:
          ingest.seeded.storedPerSecond >= 0.8 * ingest.empty.storedPerSecond &&
          ingest.seeded.latency.pushToCommittedMs.p99 <=
            1.2 * ingest.empty.latency.pushToCommittedMs.p99,
      },
      {
        what: 'retention drops the oldest month: time / longest reader wait',
        target: 'report',
        measured: `${retention.ms} ms / ${retention.longestReaderWaitMs} ms`,
        met: true,
      },
    ];
    return {
      id: 'scale',
      title: '7. Reads at a year’s scale',
      quick,
      figures: {
        loadAverageAtStart: loadAtStart,
        plan,
        seed,
        bigMessageBytes: big.bytes,
        endpoints: results,
        misses: misses.map((row) => row.id),
        ingest,
        retention: { retentionDays, ...retention },
      },
      targets: targetsList,
      notes: [
        'The api and the bare-SQL client share one process and one pg pool (DATABASE_POOL_MAX); the HTTP client runs in a worker thread of the same process; PostgreSQL on the same 2 cores.',
        'Per-key rate and concurrency limits are off for the run (they would answer 429 to a load test).',
      ],
    };
  } finally {
    await admin.destroy();
    if (keep) log(`kept database ${dbName}`);
    else await dropDatabase(serverUrl, dbName).catch(() => undefined);
  }
};

/**
 * Our receiver and worker (bench/src/ingest.ts's processes) against `dbName`, then against a
 * fresh empty database: N new notifications pushed closed loop (stored/s from the first push to
 * the last row seen committed), then an open loop at a fixed rate (push → committed).
 */
async function compareIngest(dbName: string, plan: Plan) {
  const generator = startLoadGenerator();
  const template = notificationTemplate();
  const sequence = { next: 0 };
  const measureOn = async (existing: string | undefined) => {
    const side = await startSide('ours', existing);
    try {
      await latencyRun(side, generator, template, sequence, plan.ingestRate / 2, 1);
      const storedPerSecond = await closedLoop(
        side,
        generator,
        template,
        sequence,
        plan.ingestCount,
      );
      const latency = await latencyRun(
        side,
        generator,
        template,
        sequence,
        plan.ingestRate,
        plan.ingestSeconds,
      );
      return { storedPerSecond, latency };
    } finally {
      await stopSide(side);
    }
  };
  try {
    const empty = await measureOn(undefined);
    const seeded = await measureOn(dbName);
    return { empty, seeded };
  } finally {
    await generator.close();
  }
}

async function closedLoop(
  side: Side,
  generator: ReturnType<typeof startLoadGenerator>,
  template: ReturnType<typeof notificationTemplate>,
  sequence: { next: number },
  count: number,
): Promise<number> {
  const watcher = new CommitWatcher(side.db, template, 20);
  await sleep(50);
  const startSequence = sequence.next;
  const started = Date.now();
  const result = await generator.run({
    source: { template, startSequence },
    url: side.receiverUrl,
    concurrency: 64,
    count,
  });
  sequence.next += count;
  assertAllAccepted(side, result);
  const deadline = Date.now() + 300_000;
  for (;;) {
    let seen = 0;
    for (let index = 0; index < count; index += 1)
      if (watcher.seenAt.has(startSequence + index)) seen += 1;
    if (seen === count) break;
    if (Date.now() > deadline) throw new Error(`${count - seen} pushes never committed`);
    await sleep(50);
  }
  await watcher.stop();
  let last = started;
  for (let index = 0; index < count; index += 1)
    last = Math.max(last, watcher.seenAt.get(startSequence + index)!);
  return round((count * 1000) / (last - started), 0);
}

async function explain(pool: ReturnType<typeof createPool>, statements: Statement[]) {
  const plans: string[] = [];
  for (const statement of statements) {
    const result = await pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`,
      statement.values as unknown[],
    );
    plans.push([statement.text, ...result.rows.map((row) => row['QUERY PLAN'])].join('\n'));
  }
  return plans;
}

await runIfMain(import.meta.url, bench);
