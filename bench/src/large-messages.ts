/**
 * Benchmark 4: large messages. NCTS bodies of 1, 8 and 20 MB are announced by PPNS without a
 * body (they are over 80,000 bytes), fetched by URI from the HMRC sandbox, parsed and stored, then
 * served back by the api; the bytes served back must hash (SHA-256) to what HMRC held.
 *
 * Side by side, in the same run and interleaved size by size, the naive path of naive-large.ts:
 * `response.text()`, a full DOM parse on the main thread, one INSERT of the text, `res.send`.
 *
 * Measured where the work happens: each path runs in a child process of its own (ours: receiver,
 * worker and api in one process, as `pnpm start` runs them; naive: one Express app), started
 * fresh for each size (full mode) and warmed with one 2 MiB message first, so the parse thread
 * exists and one run's freed pages do not flatter the next. The sandbox, the database polling and
 * the client that reads the body back run in this process. Per size and path:
 *   - push → stored: from "NCTS sends the message" (sandbox injection, which pushes) to the row
 *     visible in PostgreSQL (polled every 5 ms);
 *   - serve: GET of the body, first byte and last byte, hashed on the fly;
 *   - peak RSS growth of the child over the mark taken right before (1 ms sampler thread and
 *     the kernel's VmHWM), for the ingest and the serve phase;
 *   - worst event-loop delay of the child (monitorEventLoopDelay, 1 ms resolution) per phase.
 *
 *   pnpm exec tsx bench/src/large-messages.ts [--quick]
 */
import { createHash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createDb, prepareDatabase, type Db } from '@ctc-hub/db';
import { loadSandboxConfig, startSandbox, type SandboxHandle } from '@ctc-hub/hmrc-sandbox';
import { buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { createLogger } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix, dropDatabase, hex16 } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { request } from 'undici';
import { connectEori, devDefaults, startStack } from '../../scripts/stack.js';
import {
  mib,
  round,
  serveMeteredChild,
  spawnMeteredChild,
  type MeterReading,
  type MeteredChild,
} from './lib.js';
import { runIfMain, type Bench, type BenchReport } from './report.js';

const eori = devDefaults.HMRC_DEFAULT_EORI;
const log = (line: string) => process.stderr.write(`${line}\n`);

type PathName = 'ours' | 'naive';

interface StackReady {
  receiverUrl: string;
  apiUrl: string;
  apiKey: string;
}
interface NaiveReady {
  url: string;
}

interface PathHandle {
  name: PathName;
  child: MeteredChild<unknown>;
  callbackUrl: string;
  bodyUrl: (movementId: string, messageId: string) => string;
  headers: Record<string, string>;
  isStored: (db: Db, movementId: string, messageId: string) => Promise<boolean>;
}

interface RunResult {
  pushToStoredMs: number;
  serveFirstByteMs: number;
  serveMs: number;
  ingest: MeterReading;
  serve: MeterReading;
  /** Max of both phases. */
  peakRssGrowthBytes: number;
  worstEventLoopDelayMs: number;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** GETs `url`, hashing the body as it streams in; never holds it whole. */
async function readBack(url: string, headers: Record<string, string>) {
  const started = performance.now();
  const response = await request(url, { headers });
  const firstByte = performance.now() - started;
  if (response.statusCode !== 200) {
    throw new Error(`${url} answered ${response.statusCode}: ${await response.body.text()}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response.body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { firstByte, total: performance.now() - started, sha256: hash.digest('hex'), bytes };
}

async function runOne(
  sandbox: SandboxHandle,
  db: Db,
  path: PathHandle,
  xml: Buffer,
  sha256: string,
): Promise<RunResult> {
  sandbox.controls.configure({ callbackUrl: path.callbackUrl });
  const movementId = hex16();
  await path.child.mark();
  const started = performance.now();
  const { messageId } = sandbox.controls.injectMessage('departure', movementId, { xml, eori });
  await waitUntil(
    () => path.isStored(db, movementId, messageId),
    120_000,
    `${path.name} to store ${xml.length} bytes`,
  );
  const pushToStoredMs = performance.now() - started;
  const ingest = await path.child.read();

  await path.child.mark();
  const back = await readBack(path.bodyUrl(movementId, messageId), path.headers);
  const serve = await path.child.read();
  if (back.sha256 !== sha256 || back.bytes !== xml.length) {
    throw new Error(
      `${path.name}: body served back differs (${back.bytes} bytes, sha256 ${back.sha256}; expected ${xml.length} bytes, ${sha256})`,
    );
  }
  return {
    pushToStoredMs: round(pushToStoredMs),
    serveFirstByteMs: round(back.firstByte),
    serveMs: round(back.total),
    ingest,
    serve,
    peakRssGrowthBytes: Math.max(ingest.peakRssGrowthBytes, serve.peakRssGrowthBytes),
    worstEventLoopDelayMs: Math.max(ingest.eventLoopDelayMs.max, serve.eventLoopDelayMs.max),
  };
}

export const bench: Bench = async ({ quick }): Promise<BenchReport> => {
  const loadAverageAtStart = loadavg().map((value) => round(value, 2));
  const sizes = quick ? [1_000_000, 4_000_000] : [1_000_000, 8_000_000, 20_000_000];
  // Full mode: a fresh child per size and path, so each size starts from the same state.
  const freshChildPerSize = !quick;
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const databaseUrl = `${server}/ctc_bench_large_${Date.now()}`;
  const prefix = `{benchlarge${randomBytes(3).toString('hex')}}`;

  const migrateDb = createDb({ url: databaseUrl, poolMax: 1 });
  await prepareDatabase(migrateDb, databaseUrl).finally(() => migrateDb.destroy());
  const sandbox = await startSandbox(
    loadSandboxConfig({
      SANDBOX_PORT: '0',
      SANDBOX_PUSH_SECRET: devDefaults.SANDBOX_PUSH_SECRET,
      SANDBOX_CLIENT_ID: devDefaults.SANDBOX_CLIENT_ID,
      SANDBOX_CLIENT_SECRET: devDefaults.SANDBOX_CLIENT_SECRET,
      SANDBOX_BOX_ID: devDefaults.SANDBOX_BOX_ID,
      LOG_LEVEL: 'silent',
    }),
    { logger: createLogger({ service: 'hmrc-sandbox', level: 'silent' }) },
  );
  const db = createDb({ url: databaseUrl, poolMax: 2, applicationName: 'bench-large' });
  const script = fileURLToPath(import.meta.url);
  const naiveScript = fileURLToPath(new URL('./naive-large.ts', import.meta.url));

  const startPath = async (name: PathName): Promise<PathHandle> => {
    if (name === 'ours') {
      const child = await spawnMeteredChild<StackReady>(script, {
        LARGE_MESSAGES_ROLE: 'stack',
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        // Benchmarks run against the local Redis, which has no persistence (nor has CI's).
        REDIS_DURABILITY: process.env.REDIS_DURABILITY ?? 'allow-volatile',
        HTTP_HOST: '127.0.0.1',
        RECEIVER_PORT: '0',
        API_PORT: '0',
        WORKER_PORT: '0',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        HMRC_API_BASE_URL: sandbox.url,
        HMRC_CLIENT_ID: devDefaults.SANDBOX_CLIENT_ID,
        HMRC_CLIENT_SECRET: devDefaults.SANDBOX_CLIENT_SECRET,
        HMRC_DEFAULT_EORI: eori,
        PPNS_PUSH_SECRETS: devDefaults.SANDBOX_PUSH_SECRET,
        PPNS_BOX_IDS: devDefaults.SANDBOX_BOX_ID,
        // Nothing but this benchmark's fetches should call the sandbox or use the CPU.
        RECONCILE_ENABLED: 'false',
      });
      return {
        name,
        child,
        callbackUrl: `${child.ready.receiverUrl}/ppns/callback`,
        bodyUrl: (movementId, messageId) =>
          `${child.ready.apiUrl}/customs/transits/movements/departures/${movementId}/messages/${messageId}/body`,
        headers: {
          accept: 'application/vnd.hmrc.2.1+xml',
          authorization: `Bearer ${child.ready.apiKey}`,
        },
        isStored: async (db, movementId, messageId) =>
          (
            await sql`SELECT 1 FROM messages WHERE movement_type = 'departure'
              AND movement_id = ${movementId} AND message_id = ${messageId}`.execute(db)
          ).rows.length === 1,
      };
    }
    const token = sandbox.controls.issueToken({ eori }).access_token;
    const child = await spawnMeteredChild<NaiveReady>(naiveScript, {
      NAIVE_LARGE_OPTIONS: JSON.stringify({ databaseUrl, hmrcBaseUrl: sandbox.url, token }),
    });
    return {
      name,
      child,
      callbackUrl: `${child.ready.url}/ppns/callback`,
      bodyUrl: (movementId, messageId) =>
        `${child.ready.url}/messages/${movementId}/${messageId}/body`,
      headers: {},
      isStored: async (db, movementId, messageId) =>
        (
          await sql`SELECT 1 FROM naive_large_messages
            WHERE movement_id = ${movementId} AND message_id = ${messageId}`.execute(db)
        ).rows.length === 1,
    };
  };

  // ≥ 1 MiB, so that the parse thread is started before anything is measured.
  const warmXml = Buffer.from(
    buildMessageOfSize('IE029', quick ? 1.1 * 2 ** 20 : 2 * 2 ** 20, {}, { exact: true }),
  );
  const warm = async (path: PathHandle) => {
    await runOne(sandbox, db, path, warmXml, createHash('sha256').update(warmXml).digest('hex'));
  };

  const results: Record<string, Record<PathName, RunResult>> = {};
  const live = new Map<PathName, PathHandle>();
  const pathFor = async (name: PathName) => {
    let path = live.get(name);
    if (path === undefined) {
      log(`starting ${name}`);
      path = await startPath(name);
      await warm(path);
      live.set(name, path);
    }
    return path;
  };
  const stopPath = async (name: PathName) => {
    await live.get(name)?.child.stop();
    live.delete(name);
  };

  try {
    for (const [index, size] of sizes.entries()) {
      const xml = Buffer.from(buildMessageOfSize('IE029', size, {}, { exact: true }));
      const sha256 = createHash('sha256').update(xml).digest('hex');
      // Alternate which path goes first, so drift hits both alike.
      const order: PathName[] = index % 2 === 0 ? ['ours', 'naive'] : ['naive', 'ours'];
      const bySize = {} as Record<PathName, RunResult>;
      for (const name of order) {
        const path = await pathFor(name);
        log(`${name}: ${size} bytes`);
        bySize[name] = await runOne(sandbox, db, path, xml, sha256);
        if (freshChildPerSize) await stopPath(name);
      }
      results[String(size)] = bySize;
    }
  } finally {
    for (const name of [...live.keys()]) await stopPath(name);
    await db.destroy();
    await sandbox.stop();
    await dropDatabase(server, databaseUrl.slice(databaseUrl.lastIndexOf('/') + 1)).catch(
      () => undefined,
    );
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
  }

  const perSize = Object.fromEntries(
    Object.entries(results).map(([size, byPath]) => {
      const view = (run: RunResult) => ({
        pushToStoredMs: run.pushToStoredMs,
        serveFirstByteMs: run.serveFirstByteMs,
        serveMs: run.serveMs,
        peakRssGrowthMiB: mib(run.peakRssGrowthBytes),
        peakRssGrowthPerMessageSize: round(run.peakRssGrowthBytes / Number(size), 2),
        ingestPeakRssGrowthMiB: mib(run.ingest.peakRssGrowthBytes),
        servePeakRssGrowthMiB: mib(run.serve.peakRssGrowthBytes),
        worstEventLoopDelayMs: run.worstEventLoopDelayMs,
        ingestEventLoopDelayMs: run.ingest.eventLoopDelayMs,
        serveEventLoopDelayMs: run.serve.eventLoopDelayMs,
        rssSamples: run.ingest.rssSamples + run.serve.rssSamples,
        baselineRssMiB: mib(run.ingest.baselineRssBytes),
      });
      const ratio = (read: (run: RunResult) => number) =>
        round(read(byPath.naive) / Math.max(read(byPath.ours), 0.001), 2);
      return [
        size,
        {
          bytes: Number(size),
          ours: view(byPath.ours),
          naive: view(byPath.naive),
          naiveOverOurs: {
            pushToStored: ratio((run) => run.pushToStoredMs),
            serve: ratio((run) => run.serveMs),
            peakRssGrowth: ratio((run) => run.peakRssGrowthBytes),
            worstEventLoopDelay: ratio((run) => run.worstEventLoopDelayMs),
          },
        },
      ];
    }),
  );

  const targetSize = quick ? sizes.at(-1)! : 8_000_000;
  const ours = results[String(targetSize)]!.ours;
  const label = `${targetSize / 1_000_000} MB`;
  return {
    id: 'large-messages',
    title: '4. Large messages',
    quick,
    figures: {
      loadAverageAtStart,
      loadAverageAtEnd: loadavg().map((value) => round(value, 2)),
      measuredIn:
        'ours: one child process running receiver, worker and api (as pnpm start); naive: one child process; sandbox, polling and client in the bench process',
      freshChildPerSize,
      messageType: 'IE029 (buildMessageOfSize, exact size)',
      sizes: perSize,
    },
    targets: [
      {
        what: `${label}: peak RSS growth`,
        target: '≤ 4× message size',
        measured: `${round(ours.peakRssGrowthBytes / targetSize, 2)}× (${mib(ours.peakRssGrowthBytes)} MiB)`,
        met: ours.peakRssGrowthBytes <= 4 * targetSize,
      },
      {
        what: `${label}: worst event-loop delay`,
        target: '≤ 100 ms',
        measured: `${ours.worstEventLoopDelayMs} ms`,
        met: ours.worstEventLoopDelayMs <= 100,
      },
      {
        what: `${label}: body served back byte-identical`,
        target: 'same SHA-256',
        measured: 'identical (checked for every size and path)',
        met: true,
      },
    ],
    notes: [
      'Push → stored includes the rate pacer slot, the fetch over loopback, the parse and the batched store; both paths fetch the same bytes from the same sandbox.',
      'RSS growth is the peak above the RSS right after a full GC at the start of each phase; freed memory that the allocator keeps is not returned, so the figure is an upper bound of what the phase needed at once.',
    ],
  };
};

/** Child-process role: the whole stack against the bench's sandbox, metered. */
async function hostStack(): Promise<void> {
  const stack = await startStack(process.env);
  await connectEori(stack, eori);
  await serveMeteredChild({}, {
    receiverUrl: stack.receiverUrl,
    apiUrl: stack.apiUrl,
    apiKey: stack.apiKey,
  } satisfies StackReady);
  await stack.stop();
  process.exit(0);
}

if (process.env.LARGE_MESSAGES_ROLE === 'stack') await hostStack();
else await runIfMain(import.meta.url, bench);
