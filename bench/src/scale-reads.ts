/**
 * The reads of bench/src/scale.ts: each endpoint our users call, served by the real api app over
 * a seeded database, against the very statements the api ran for it replayed as bare SQL on the
 * same pg pool (the database's own cost: our floor).
 *
 * The statements are captured, not rewritten by hand: each URL is requested once with a Kysely
 * log hook recording every compiled query (text and parameters); the SQL side then runs exactly
 * those, one after another as the api does, for the same URLs. The HTTP client runs in a worker
 * thread (bench/src/read-load-worker.mjs) so its CPU is not on the api's event loop; the SQL
 * side's client is the pool itself, in the api's process.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { createPool, Database } from '@ctc-hub/db';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import { percentiles, round } from './lib.js';
import { boxIds, eoriOf } from './scale-seed.js';

type Pool = ReturnType<typeof createPool>;

export interface Endpoint {
  id: string;
  /** What a user asks, in a few words. */
  what: string;
  urls: string[];
  /** Excluded from the p99 target (the 8 MB body). */
  bulk?: boolean;
  /** Ask with an API key scoped to the biggest EORI (true) or to a small one. */
  scoped?: true | 'small';
}

export interface Statement {
  text: string;
  values: readonly unknown[];
}

export interface Recorder {
  db: Kysely<Database>;
  capture: <T>(run: () => Promise<T>) => Promise<{ result: T; statements: Statement[] }>;
}

/** A Kysely over `pool` whose compiled queries can be captured while one request runs. */
export function recordingDb(pool: Pool): Recorder {
  let recording: Statement[] | undefined;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event: LogEvent) => {
      if (recording !== undefined && event.level === 'query')
        recording.push({ text: event.query.sql, values: event.query.parameters });
    },
  });
  return {
    db,
    capture: async (run) => {
      recording = [];
      try {
        const result = await run();
        return { result, statements: recording };
      } finally {
        recording = undefined;
      }
    },
  };
}

export interface Samples {
  departures: { id: string; lrn: string; eori: string; month: string; updated: string }[];
  messages: { movementId: string; messageId: string }[];
  bigMessage: { movementId: string; messageId: string };
  requestIds: string[];
  notificationIds: string[];
  oldCursor: string;
}

/** Real ids to ask for, spread over the year. */
export async function sampleIds(db: Kysely<Database>, bigMessage: Samples['bigMessage']) {
  const departures = await sql<Samples['departures'][number]>`
    SELECT movement_id AS id, lrn, enrollment_eori AS eori, retention_month::text AS month,
           updated_at::text AS updated
      FROM movements TABLESAMPLE BERNOULLI (1) REPEATABLE (7)
     WHERE movement_type = 'departure' LIMIT 64`.execute(db);
  const messages = await sql<Samples['messages'][number]>`
    SELECT DISTINCT ON (m.movement_id) m.movement_id AS "movementId", g.message_id AS "messageId"
      FROM movements m
      JOIN messages g ON g.movement_month = m.retention_month AND g.movement_type = m.movement_type
                     AND g.movement_id = m.movement_id AND g.size_bytes < 20000
     WHERE m.movement_type = 'departure'
       AND m.movement_id = ANY(${departures.rows.map((row) => row.id)})`.execute(db);
  const notifications = await sql<{ id: string }>`
    SELECT notification_id::text AS id FROM notifications TABLESAMPLE SYSTEM (1) REPEATABLE (7)
     LIMIT 64`.execute(db);
  // The first event of the third month: a client that has not read the feed for ten months.
  const cursor = await sql<{ xid: string; id: string }>`
    SELECT xid::text AS xid, id::text AS id FROM events
     WHERE created_at >= (SELECT min(created_at) + interval '60 days' FROM events)
     ORDER BY created_at LIMIT 1`.execute(db);
  const position = Buffer.alloc(17);
  position.writeUInt8(1, 0);
  position.writeBigUInt64BE(BigInt(cursor.rows[0]?.xid ?? 0), 1);
  position.writeBigUInt64BE(BigInt(cursor.rows[0]?.id ?? 0), 9);
  return {
    departures: departures.rows,
    messages: messages.rows,
    bigMessage,
    requestIds: departures.rows.map((row) => `/customs/transits/movements/departures/${row.id}`),
    notificationIds: notifications.rows.map((row) => row.id),
    oldCursor: position.toString('base64url'),
  } satisfies Samples;
}

const q = encodeURIComponent;
const base = '/customs/transits/movements/departures';

export function endpoints(
  samples: Samples,
  plan: { eoris: number; movements: number },
  now: Date,
): Endpoint[] {
  const { eoris } = plan;
  // Deep pages that exist at every size: 200 of 25 at full size; within the first half otherwise.
  const departures = plan.movements * 0.8;
  const deepPage = Math.min(200, Math.floor(departures / 25 / 2));
  const deepPageSince = Math.min(20, Math.floor(departures / 6 / 25 / 2));
  const week = new Date(now.getTime() - 7 * 86400_000).toISOString();
  const month = new Date(now.getTime() - 60 * 86400_000).toISOString();
  const d = samples.departures;
  const m = samples.messages;
  const big = samples.bigMessage;
  return [
    { id: 'list', what: 'departures, first page', urls: [base] },
    {
      id: 'list-updatedSince',
      what: 'departures updated in the last 7 days',
      urls: [`${base}?updatedSince=${q(week)}`],
    },
    {
      id: 'list-movementEORI',
      what: 'departures of one declarant EORI',
      urls: d.map((row) => `${base}?movementEORI=${row.eori}`),
    },
    {
      id: 'list-lrn',
      what: 'departure by localReferenceNumber',
      urls: d.map((row) => `${base}?localReferenceNumber=${row.lrn}`),
    },
    {
      id: 'list-deep-page',
      what: `page ${deepPage} of 25 (offset ${(deepPage - 1) * 25})`,
      urls: [`${base}?page=${deepPage}`],
    },
    {
      id: 'list-deep-page-since',
      what: `page ${deepPageSince} of 25 of the last 60 days`,
      urls: [`${base}?updatedSince=${q(month)}&page=${deepPageSince}`],
    },
    {
      id: 'list-scoped-key',
      what: 'first page, key scoped to the biggest EORI',
      urls: [`${base}?count=25`],
      scoped: true,
    },
    {
      id: 'list-scoped-small',
      what: 'first page, key scoped to a small EORI',
      urls: [`${base}?count=25`],
      scoped: 'small',
    },
    { id: 'movement', what: 'one departure', urls: d.map((row) => `${base}/${row.id}`) },
    {
      id: 'movement-messages',
      what: "a departure's messages, receivedSince",
      urls: d.map(
        (row) =>
          `${base}/${row.id}/messages?receivedSince=${q(new Date(Date.parse(`${row.month}T00:00:00Z`)).toISOString())}`,
      ),
    },
    {
      id: 'message',
      what: 'one message (JSON, body inline)',
      urls: m.map((row) => `${base}/${row.movementId}/messages/${row.messageId}`),
    },
    {
      id: 'message-body',
      what: 'one message body, small (XML)',
      urls: m.map((row) => `${base}/${row.movementId}/messages/${row.messageId}/body`),
    },
    {
      id: 'message-body-8mb',
      what: 'one message body, 8 MB',
      urls: [`${base}/${big.movementId}/messages/${big.messageId}/body`],
      bulk: true,
    },
    {
      id: 'v1-messages-type',
      what: '/v1/messages?messageType=IE029',
      urls: ['/v1/messages?messageType=IE029'],
    },
    {
      id: 'v1-messages-type-since',
      what: '/v1/messages?messageType=IE029&receivedSince=7 days',
      urls: [`/v1/messages?messageType=IE029&receivedSince=${q(week)}`],
    },
    {
      id: 'v1-messages-box',
      what: '/v1/messages?boxId=…',
      urls: boxIds.map((box) => `/v1/messages?boxId=${box}`),
    },
    {
      id: 'v1-messages-request',
      what: '/v1/messages?requestId=…',
      urls: samples.requestIds.map((id) => `/v1/messages?requestId=${q(id)}`),
    },
    {
      id: 'events-old-cursor',
      what: 'change feed, 100 events from a 10-month-old cursor',
      urls: [`/v1/events?after=${samples.oldCursor}&limit=100`],
    },
    {
      id: 'notification',
      what: 'one notification by id',
      urls: samples.notificationIds.map((id) => `/v1/notifications/${id}`),
    },
    { id: 'dead-letters', what: 'dead letters, first page', urls: ['/v1/dead-letters'] },
    {
      id: 'dead-letters-eori',
      what: 'dead letters of one EORI',
      urls: Array.from(
        { length: 16 },
        (_, n) => `/v1/dead-letters?eori=${eoriOf(n * (eoris >> 4))}`,
      ),
    },
  ];
}

export interface SideFigures {
  perSecond: number;
  p50: number;
  p99: number;
  requests: number;
  /** CPU of this process's main thread (api + pg client; not the HTTP client) per request. */
  nodeCpuUs?: number;
  /** Of nodeCpuUs, the part spent in the kernel (system calls: socket reads and writes). */
  nodeSystemCpuUs?: number;
  /** CPU of the pool's PostgreSQL backends per request. */
  postgresCpuUs?: number;
}

/** CPU ms of one thread or process from /proc (utime + stime, 10 ms ticks); 0 if unreadable. */
function procCpuMs(path: string, part: 'all' | 'user' | 'system' = 'all'): number {
  try {
    const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
    const user = Number(fields[11]);
    const system = Number(fields[12]);
    return (part === 'user' ? user : part === 'system' ? system : user + system) * 10;
  } catch {
    return 0;
  }
}

/** The main thread's CPU (its task id is the process id) and the database's backends' CPU. */
async function cpuNow(
  pool: Pool,
): Promise<{ node: number; nodeSystem: number; postgres: Map<number, number> }> {
  const backends = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  return {
    node: procCpuMs(`/proc/self/task/${process.pid}/stat`),
    nodeSystem: procCpuMs(`/proc/self/task/${process.pid}/stat`, 'system'),
    postgres: new Map(backends.rows.map((row) => [row.pid, procCpuMs(`/proc/${row.pid}/stat`)])),
  };
}

/** Runs `load`, adding CPU per request to its figures. */
export async function withCpu(pool: Pool, load: () => Promise<SideFigures>): Promise<SideFigures> {
  const before = await cpuNow(pool);
  const figures = await load();
  const after = await cpuNow(pool);
  let postgres = 0;
  for (const [pid, ms] of after.postgres) postgres += ms - (before.postgres.get(pid) ?? 0);
  const perRequest = (ms: number) => Math.round((ms * 1000) / Math.max(1, figures.requests));
  return {
    ...figures,
    nodeCpuUs: perRequest(after.node - before.node),
    nodeSystemCpuUs: perRequest(after.nodeSystem - before.nodeSystem),
    postgresCpuUs: perRequest(postgres),
  };
}

/** HTTP: closed loop in a worker thread. Any status but 200 fails the run. */
export function httpLoad(
  baseUrl: string,
  urls: string[],
  headers: Record<string, string>,
  concurrency: number,
  durationMs: number,
): Promise<SideFigures> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./read-load-worker.mjs', import.meta.url), {
      workerData: { baseUrl, urls, concurrency, durationMs, headers },
    });
    worker.once('error', reject);
    worker.once(
      'message',
      (result: { latencies: number[]; statuses: Record<string, number>; elapsedMs: number }) => {
        const bad = Object.entries(result.statuses).filter(([status]) => status !== '200');
        if (bad.length > 0)
          return reject(new Error(`${urls[0]}: answers other than 200: ${JSON.stringify(bad)}`));
        resolve(summarise(result.latencies, result.elapsedMs));
      },
    );
  });
}

function summarise(latencies: number[], elapsedMs: number): SideFigures {
  const p = percentiles(latencies);
  return {
    perSecond: round((latencies.length / elapsedMs) * 1000, 0),
    p50: round(p.p50, 2),
    p99: round(p.p99, 2),
    requests: latencies.length,
  };
}

/** Bare SQL: the captured statements of each URL, in order, on `pool`; closed loop. */
export async function sqlLoad(
  pool: Pool,
  statementsPerUrl: Statement[][],
  concurrency: number,
  durationMs: number,
): Promise<SideFigures> {
  const latencies: number[] = [];
  let next = 0;
  const deadline = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const statements = statementsPerUrl[next++ % statementsPerUrl.length]!;
      const started = performance.now();
      for (const statement of statements)
        await pool.query(statement.text, statement.values as unknown[]);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return summarise(latencies, performance.now() - started);
}

/**
 * The HTTP floor of an endpoint: a bare node:http server (no Express, middleware or Kysely)
 * that answers each URL by running its captured statements on `pool`, one after another, and
 * sending the bytes the api answered with. What any HTTP api over these statements costs at
 * least on this machine (client, server, loopback), against which the api's own cost shows.
 */
export async function floorServer(
  pool: Pool,
  answers: Map<string, { statements: Statement[]; body: Buffer; type: string }>,
): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const answer = answers.get(request.url ?? '');
    if (answer === undefined) {
      response.writeHead(404).end();
      return;
    }
    void (async () => {
      for (const statement of answer.statements)
        await pool.query(statement.text, statement.values as unknown[]);
      response.writeHead(200, {
        'content-type': answer.type,
        'content-length': answer.body.length,
      });
      response.end(answer.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
