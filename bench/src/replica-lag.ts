/**
 * Replica lag as a client of the change feed sees it (opt-in: `pnpm bench replica-lag`).
 *
 * A PostgreSQL 15 primary of our own (initdb in a temporary directory) and a real streaming
 * replica of it (`pg_basebackup -R -X stream`, started with pg_ctl on another port). Two api
 * instances on the same primary: one with DATABASE_READ_URL pointing at the replica, one
 * without. A probe commits one message and its `message.received` event on the primary every
 * 100 ms; a reader per api follows `/v1/events` without pause and notes when each probe first
 * appears. Lag = first seen − commit returned, on one clock. Measured at idle, then while an
 * ingest-like writer commits micro-batches of 25 messages of 4 KB (plus their events) at the
 * rate asked for. Also sampled: the primary's `pg_stat_replication.replay_lag`.
 *
 * Everything it starts (two PostgreSQL servers, one redis-server, the api instances) is stopped
 * and its directories removed on exit, on error and on SIGINT/SIGTERM.
 */
import { execFile, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadApiConfig } from '@ctc-hub/config';
import { createDb, type Db } from '@ctc-hub/db';
import {
  createTemplateDatabase,
  databaseUrl,
  durableRedisConfig,
  freePort,
  RedisServer,
  waitFor,
} from '@ctc-hub/testing';
import { sql } from 'kysely';
import { startApi, type ApiHandle } from '../../services/api/src/start.js';
import { runIfMain, type Bench } from './report.js';

const run = promisify(execFile);
const pgBin = '/usr/lib/postgresql/15/bin';
const apiKey = 'replica-lag-key';
const eori = 'GB000000000001';

/** initdb refuses root: as root the PostgreSQL commands run as `postgres`. */
function pgCommand(binary: string, args: string[]): [string, string[]] {
  const full = path.join(pgBin, binary);
  return process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', full, ...args]]
    : [full, args];
}

async function pg(binary: string, args: string[]): Promise<void> {
  const [file, argv] = pgCommand(binary, args);
  await run(file, argv, { timeout: 120_000 });
}

class PgServer {
  constructor(
    readonly data: string,
    readonly port: number,
    private readonly socketDir: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(extra: string[] = []): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.socketDir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=60',
      '-c shared_buffers=64MB',
      ...extra,
    ].join(' ');
    await pg('pg_ctl', [
      '-D',
      this.data,
      '-o',
      options,
      '-l',
      `${this.data}.log`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  async stop(): Promise<void> {
    await pg('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(
      () => undefined,
    );
  }
}

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const round = (value: number) => Math.round(value * 10) / 10;

/** Follows /v1/events of one api as fast as it answers, noting when each message id appears. */
class FeedReader {
  readonly firstSeen = new Map<string, number>();
  requests = 0;
  connectionErrors = 0;
  private stopped = false;
  private done: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly baseUrl: string,
  ) {}

  error: Error | undefined;

  start(): void {
    this.done = (async () => {
      let after = 'now';
      while (!this.stopped) {
        let response: Response;
        try {
          response = await fetch(`${this.baseUrl}/v1/events?limit=1000&after=${after}`, {
            headers: { authorization: `Bearer ${apiKey}` },
          });
        } catch {
          // A kept-alive connection the server closed as we reused it: ask again, as a client
          // following the feed does (the cursor makes it safe).
          this.connectionErrors += 1;
          continue;
        }
        this.requests += 1;
        if (response.status !== 200)
          throw new Error(`${this.name}: /v1/events answered ${response.status}`);
        const body = (await response.json()) as {
          events: { messageId: string | null }[];
          next: string;
        };
        const now = Date.now();
        for (const event of body.events)
          if (event.messageId !== null && !this.firstSeen.has(event.messageId))
            this.firstSeen.set(event.messageId, now);
        after = body.next;
        if (body.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })().catch((error: unknown) => {
      this.error = error as Error;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function insertMessages(
  db: Db,
  movementId: string,
  month: string,
  ids: string[],
  bodyBytes: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`
      INSERT INTO messages (movement_month, movement_type, movement_id, message_id, message_type,
                            root_element, phase, direction, known_type, received_at, size_bytes,
                            sha256, summary, source, request_id, hmrc_status, body)
      SELECT ${month}::date, 'departure', ${movementId}, id, 'IE028', 'CC028C', 'NCTS5.0',
             'inbound', true, now(), ${bodyBytes}, sha256(convert_to(id, 'UTF8')), '{}'::jsonb,
             'push', ${`/customs/transits/movements/departures/${movementId}`}, 'Received',
             convert_to(repeat(id, ${Math.ceil(bodyBytes / 16)}), 'UTF8')
        FROM unnest(${ids}::text[]) AS id`.execute(trx);
    await sql`
      INSERT INTO events (kind, movement_type, movement_id, message_id, eori, data)
      SELECT 'message.received', 'departure', ${movementId}, id, ${eori}, '{}'::jsonb
        FROM unnest(${ids}::text[]) AS id`.execute(trx);
  });
}

export const bench: Bench = async ({ quick }) => {
  const phaseMs = quick ? 5_000 : 20_000;
  const loadRate = Number(process.env.REPLICA_LAG_INGEST_PER_SECOND ?? (quick ? 200 : 500));
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort when the process dies of an uncaught error: stop both servers and remove their
  // directory synchronously (an 'exit' listener cannot wait). Redis dies with us (a child).
  let tempDir: string | undefined;
  const onExit = () => {
    if (tempDir === undefined) return;
    for (const server of ['replica', 'primary']) {
      try {
        const [file, argv] = pgCommand('pg_ctl', [
          '-D',
          path.join(tempDir, server),
          '-m',
          'immediate',
          '-w',
          'stop',
        ]);
        execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
      } catch {
        // Not running.
      }
    }
    rmSync(tempDir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  try {
    // The primary, then its streaming replica.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ctc-replica-lag-'));
    tempDir = dir;
    cleanups.push(async () => {
      await rm(dir, { recursive: true, force: true });
      tempDir = undefined;
    });
    if (process.getuid?.() === 0) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      await chown(dir, uid, gid);
    }
    const primary = new PgServer(path.join(dir, 'primary'), await freePort(), dir);
    await pg('initdb', ['-D', primary.data, '-A', 'trust', '-U', 'postgres', '--no-instructions']);
    await primary.start(['-c wal_level=replica', '-c max_wal_senders=4']);
    cleanups.push(() => primary.stop());
    const name = await createTemplateDatabase(primary.url);
    const replica = new PgServer(path.join(dir, 'replica'), await freePort(), dir);
    const started = Date.now();
    await pg('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      replica.data,
      '-R',
      '-X',
      'stream',
      '--checkpoint=fast',
    ]);
    await replica.start(['-c hot_standby=on']);
    cleanups.push(() => replica.stop());
    const basebackupMs = Date.now() - started;
    const primaryUrl = databaseUrl(primary.url, name);
    const replicaUrl = databaseUrl(replica.url, name);
    const writer = createDb({ url: primaryUrl, poolMax: 4 });
    cleanups.push(() => writer.destroy());
    const admin = createDb({ url: databaseUrl(primary.url, 'postgres'), poolMax: 1 });
    cleanups.push(() => admin.destroy());
    const replicaDb = createDb({ url: replicaUrl, poolMax: 1 });
    cleanups.push(() => replicaDb.destroy());
    await waitFor(
      async () => {
        const { rows } = await sql<{
          state: string;
        }>`SELECT state FROM pg_stat_replication`.execute(admin);
        return rows[0]?.state === 'streaming';
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the replica to stream' },
    );

    // Redis (the api checks it is durable) and the two apis.
    const redis = await RedisServer.start(durableRedisConfig);
    cleanups.push(() => redis.destroy());
    const apis: ApiHandle[] = [];
    const startOne = async (readUrl: string | undefined) => {
      const port = await freePort();
      const handle = await startApi(
        loadApiConfig({
          API_PORT: String(port),
          HTTP_HOST: '127.0.0.1',
          DATABASE_URL: primaryUrl,
          ...(readUrl ? { DATABASE_READ_URL: readUrl } : {}),
          DATABASE_POOL_MAX: '4',
          REDIS_URL: redis.url,
          QUEUE_PREFIX: '{replica-lag}',
          API_KEYS: `${apiKey}:*`,
          HMRC_API_BASE_URL: 'http://127.0.0.1:9',
          HMRC_CLIENT_ID: 'replica-lag',
          HMRC_CLIENT_SECRET: 'replica-lag',
          TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
          API_RATE_LIMIT_PER_SECOND: '0',
          LOG_LEVEL: 'silent',
        }),
      );
      apis.push(handle);
      cleanups.push(() => handle.stop());
      return `http://127.0.0.1:${handle.port}`;
    };
    const viaReplica = new FeedReader('replica', await startOne(replicaUrl));
    const viaPrimary = new FeedReader('primary', await startOne(undefined));

    const movementId = 'feedfeedfeed0001';
    const month = `${new Date().toISOString().slice(0, 7)}-01`;
    await sql`
      INSERT INTO movements (movement_type, movement_id, enrollment_eori, request_id, status,
                             retention_month, created_at, updated_at)
      VALUES ('departure', ${movementId}, ${eori},
              ${`/customs/transits/movements/departures/${movementId}`}, 'submitted',
              ${month}::date, now(), now())`.execute(writer);

    viaReplica.start();
    viaPrimary.start();
    // Their first read (`after=now`) places each cursor; a probe committed before it would be
    // behind the cursor and never served.
    await waitFor(async () => viaReplica.requests > 1 && viaPrimary.requests > 1, {
      timeoutMs: 10_000,
      intervalMs: 10,
      what: 'the feed readers to start',
    });
    let sequence = 0;
    const nextId = () => (sequence++).toString(16).padStart(16, '0');

    const replayLag: number[] = [];
    const samplePhase = async (label: string, load: boolean) => {
      const probes: { id: string; commitAt: number }[] = [];
      let stop = false;
      let loadCommitted = 0;
      const loadLoop = (async () => {
        if (!load) return;
        const batch = 25;
        const interval = (1000 * batch) / loadRate;
        let due = Date.now();
        while (!stop) {
          const ids = Array.from({ length: batch }, nextId);
          await insertMessages(writer, movementId, month, ids, 4096);
          loadCommitted += batch;
          due += interval;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
      })();
      const lagLoop = (async () => {
        while (!stop) {
          const { rows } = await sql<{ ms: string | null }>`
            SELECT (extract(epoch FROM replay_lag) * 1000)::text AS ms
              FROM pg_stat_replication`.execute(admin);
          if (rows[0]?.ms != null) replayLag.push(Number(rows[0].ms));
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })();
      const phaseStarted = Date.now();
      const load1 = os.loadavg()[0]!;
      while (Date.now() - phaseStarted < phaseMs) {
        const id = nextId();
        await insertMessages(writer, movementId, month, [id], 4096);
        probes.push({ id, commitAt: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      stop = true;
      await Promise.all([loadLoop, lagLoop]);
      const elapsed = (Date.now() - phaseStarted) / 1000;
      // Let the readers catch up with the last probes.
      await waitFor(
        async () =>
          probes.every(
            (probe) => viaReplica.firstSeen.has(probe.id) && viaPrimary.firstSeen.has(probe.id),
          ),
        { timeoutMs: 30_000, intervalMs: 50, what: `the ${label} probes to appear in both feeds` },
      ).catch((error: unknown) => {
        const missing = (reader: FeedReader) =>
          `${reader.name}: ${probes.filter((probe) => !reader.firstSeen.has(probe.id)).length} (first at ${probes.findIndex((probe) => !reader.firstSeen.has(probe.id))}) of ${probes.length} missing, ${reader.requests} requests, ${reader.connectionErrors} connection errors${reader.error ? `, stopped by ${reader.error.message}` : ''}`;
        throw new Error(
          `${(error as Error).message}: ${missing(viaReplica)}; ${missing(viaPrimary)}`,
        );
      });
      const lags = (reader: FeedReader) =>
        probes.map((probe) => reader.firstSeen.get(probe.id)! - probe.commitAt);
      const summary = (values: number[]) => ({
        p50: round(percentile(values, 50)),
        p99: round(percentile(values, 99)),
        max: round(Math.max(...values)),
      });
      const figures = {
        probes: probes.length,
        ingestPerSecond: Math.round(loadCommitted / elapsed),
        feedLagViaReplicaMs: summary(lags(viaReplica)),
        feedLagViaPrimaryMs: summary(lags(viaPrimary)),
        replayLagMs: summary(replayLag.splice(0)),
        loadAverage: [round(load1), round(os.loadavg()[0]!)],
      };
      process.stderr.write(`${label}: ${JSON.stringify(figures)}\n`);
      return figures;
    };

    const idle = await samplePhase('idle', false);
    const loaded = await samplePhase(`ingest ${loadRate}/s`, true);
    await Promise.all([viaReplica.stop(), viaPrimary.stop()]);
    const stored = await sql<{ n: string }>`SELECT count(*)::text AS n FROM messages`.execute(
      replicaDb,
    );
    const expected = sequence;
    if (Number(stored.rows[0]!.n) !== expected)
      throw new Error(`the replica holds ${stored.rows[0]!.n} messages, the primary ${expected}`);

    return {
      id: 'replica-lag',
      title: 'Replica lag through the change feed',
      quick,
      figures: {
        basebackupMs,
        phaseSeconds: phaseMs / 1000,
        idle,
        loaded,
        feedRequests: { replica: viaReplica.requests, primary: viaPrimary.requests },
        feedConnectionErrors: {
          replica: viaReplica.connectionErrors,
          primary: viaPrimary.connectionErrors,
        },
      },
      targets: [],
      notes: [
        'Lag is from the probe transaction returning on the primary to its event first served by /v1/events, read without pause; both apis are in this process, on one clock.',
        'The primary runs with fsync on and synchronous_commit on; the replica is asynchronous (the default streaming setup).',
      ],
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
    process.off('exit', onExit);
  }
};

await runIfMain(import.meta.url, bench);
