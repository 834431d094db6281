/**
 * Side-by-side CPU per request of api variants in one process, for reads of a kept scale
 * database: each variant listens on its own port and they take turns in short bursts (closed
 * loop, concurrency 32, HTTP client in a worker thread), so all of them see the same machine
 * load; the main thread's CPU (/proc, utime + stime) during a burst is that variant's.
 *
 *   SCALE_DB=<name> [SCALE_ONLY=movement,list-lrn] [AB_ROUNDS=6] pnpm exec tsx bench/src/scale-ab.ts
 *
 * Variants: `api` (as shipped; per-key limits off, as in bench/src/scale.ts), `limits-on` (the per-key rate and
 * concurrency limits on, with limits no request reaches: their Redis round trip and bookkeeping),
 * and `floor` (a bare node:http server running the same statements on the same pool, answering
 * the captured api body: no Express, middleware or Kysely).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { createPool } from '@ctc-hub/db';
import { listen } from '@ctc-hub/telemetry';
import { sql } from 'kysely';
import { endpoints, httpLoad, recordingDb, sampleIds, type Statement } from './scale-reads.js';
import { apiPoolMax, benchApiResources } from './scale-api.js';
import { eoriOf } from './scale-seed.js';

const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseUrl = `${serverUrl}/${process.env.SCALE_DB}`;
const rounds = Number(process.env.AB_ROUNDS ?? 6);
const burstMs = Number(process.env.AB_BURST_MS ?? 1500);
const key = 'bench-ab-all';

const pool = createPool({ url: databaseUrl, poolMax: apiPoolMax, applicationName: 'ctc-hub-api' });
const recorder = recordingDb(pool);
const api = benchApiResources({ databaseUrl, redisUrl });

function apiApp(limits: boolean) {
  return api.app(recorder.db, {
    API_KEYS: `${key}:*,other:${eoriOf(0)}`,
    API_RATE_LIMIT_PER_SECOND: limits ? '1000000' : '0',
    API_RATE_LIMIT_BURST: '1000000',
    API_MAX_CONCURRENT_REQUESTS_PER_KEY: limits ? '1000' : '0',
  });
}

const mainCpuMs = () => {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    .split(') ')[1]!
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

const shipped = apiApp(false);
const limited = apiApp(true);
const servers = await Promise.all([shipped, limited].map((app) => listen(app, 0, '127.0.0.1')));

const big = await sql<{ movementId: string; messageId: string }>`
  SELECT movement_id AS "movementId", message_id AS "messageId" FROM messages
   ORDER BY size_bytes DESC LIMIT 1`.execute(recorder.db);
const samples = await sampleIds(recorder.db, big.rows[0]!);
const only = (process.env.SCALE_ONLY ?? 'movement,list-lrn').split(',');
const plan = { eoris: 300, movements: 20_000 };
const report: Record<string, Record<string, number[]>> = {};
try {
  for (const endpoint of endpoints(samples, plan, new Date())) {
    if (!only.includes(endpoint.id)) continue;
    const hmrcPath = endpoint.urls[0]!.startsWith('/customs/');
    const body = endpoint.urls[0]!.split('?')[0]!.endsWith('/body');
    const headers = {
      authorization: `Bearer ${key}`,
      ...(hmrcPath ? { accept: `application/vnd.hmrc.2.1+${body ? 'xml' : 'json'}` } : {}),
    };
    // The floor answers each URL with its captured statements and the api's body for it.
    const base0 = `http://127.0.0.1:${servers[0]!.port}`;
    const captured = new Map<string, { statements: Statement[]; text: string }>();
    for (const url of endpoint.urls) {
      const { result, statements } = await recorder.capture(async () => {
        const response = await fetch(`${base0}${url}`, { headers });
        return response.text();
      });
      captured.set(url, { statements, text: result });
    }
    const floor = createServer((request, response) => {
      const entry = captured.get(request.url!)!;
      void (async () => {
        for (const statement of entry.statements)
          await pool.query(statement.text, statement.values as unknown[]);
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(entry.text),
        });
        response.end(entry.text);
      })();
    });
    await new Promise<void>((resolve) => floor.listen(0, '127.0.0.1', resolve));
    const variants: [string, number][] = [
      ['api', servers[0]!.port],
      ['limits-on', servers[1]!.port],
      ['floor', (floor.address() as { port: number }).port],
    ];
    const figures: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round += 1) {
      for (const [name, port] of round % 2 === 0 ? variants : [...variants].reverse()) {
        const before = mainCpuMs();
        const result = await httpLoad(
          `http://127.0.0.1:${port}`,
          endpoint.urls,
          headers,
          32,
          burstMs,
        );
        const cpu = mainCpuMs() - before;
        (figures[name] ??= []).push(Math.round((cpu * 1000) / result.requests));
      }
    }
    floor.close();
    report[endpoint.id] = figures;
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
    process.stderr.write(
      `${endpoint.id}: main-thread CPU µs per request, median of ${rounds} bursts: ${variants
        .map(([name]) => `${name} ${median(figures[name]!)} (${figures[name]!.join(' ')})`)
        .join('; ')}\n`,
    );
  }
  process.stderr.write(
    `load ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}\n`,
  );
  console.log(JSON.stringify(report));
} finally {
  for (const { server } of servers) {
    server.closeAllConnections();
    server.close();
  }
  await api.close();
  await pool.end();
}
