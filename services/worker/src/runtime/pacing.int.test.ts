// Risk retired: HMRC calls arriving closer than HMRC's sliding second allows because a call left
// late after the pacer cleared it (an event loop busy ingesting a pulled batch, a new connection)
// and then bunched with the next replica's call, which left on time. HMRC counts arrivals, so
// the arrivals are measured at a server of their own, in a thread no one blocks.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { CtcClient } from '@ctc-hub/hmrc-client';
import { createTestRedis, repoRoot, waitFor, type TestRedis } from '@ctc-hub/testing';
import { Redis } from 'ioredis';
import { createHmrcPacing } from './pacing.js';

/** A stand-in for HMRC's gateway that only notes when each request arrived. */
const arrivalServer = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const arrivals = [];
const server = http.createServer((request, response) => {
  arrivals.push(performance.timeOrigin + performance.now());
  request.resume();
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('{"totalCount":0,"departures":[]}');
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'arrivals') parentPort.postMessage({ arrivals });
  if (message === 'close') server.close(() => parentPort.postMessage({ closed: true }));
  if (message === 'close') server.closeAllConnections();
});
`;

/** The most arrivals inside any 1000 ms (half-open), HMRC's sliding second. */
function worstSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last += 1) {
    while (sorted[last]! - sorted[first]! >= 1000) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // The event loop is busy, as while a pulled batch of notifications is being ingested.
  }
};

let server: Worker;
let serverUrl: string;
let testRedis: TestRedis;
let redis: Redis;
let replica: ChildProcessWithoutNullStreams | undefined;

beforeAll(async () => {
  server = new Worker(arrivalServer, { eval: true });
  const [{ port }] = (await once(server, 'message')) as [{ port: number }];
  serverUrl = `http://127.0.0.1:${port}`;
  testRedis = createTestRedis();
  redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  replica?.kill();
  server.postMessage('close');
  await once(server, 'message');
  await server.terminate();
  redis.disconnect();
  await testRedis.cleanup();
});

it('keeps every sliding second at 3 arrivals while one replica leaves late after each clearance', async () => {
  const perSecond = 3;
  replica = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('services/worker/src/runtime/test-support/paced-replica.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        REDIS_URL: testRedis.url,
        QUEUE_PREFIX: testRedis.prefix,
        TARGET_URL: serverUrl,
        RATE: String(perSecond),
        CALLS: '24',
        LANES: '4',
      },
    },
  );
  let output = '';
  replica.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => (output.includes('ready') ? true : undefined), {
    timeoutMs: 30_000,
    what: 'the second replica to start',
  });

  // This replica: after each clearance its event loop is busy for 300 ms before the request
  // can be written, which is most of a 350 ms slot; the other one always has callers waiting,
  // so the slots after each late call are the other replica's, on time.
  const pacing = createHmrcPacing(redis, {
    QUEUE_PREFIX: testRedis.prefix,
    HMRC_RATE_LIMIT_PER_SECOND: perSecond,
    PPNS_LIST_MIN_GAP_MS: 10_250,
  });
  const late = new CtcClient({
    baseUrl: serverUrl,
    apiVersion: '2.1',
    timeoutMs: 10_000,
    beforeRequest: async (call) => {
      const clearance = await pacing.clear(call);
      busyFor(300);
      return clearance;
    },
  });
  replica.stdin.write('go\n');
  const results: boolean[] = [];
  for (let call = 0; call < 5; call += 1) {
    await sleep(700);
    results.push((await late.listMovements({ type: 'departure', token: 'late-token' })).ok);
  }
  await waitFor(() => (output.includes('done') ? true : undefined), {
    timeoutMs: 60_000,
    what: 'the second replica to finish',
  });
  expect(output).toContain('done 24 0');
  expect(results).toEqual([true, true, true, true, true]);

  server.postMessage('arrivals');
  const [{ arrivals }] = (await once(server, 'message')) as [{ arrivals: number[] }];
  expect(arrivals).toHaveLength(29);
  expect(worstSecond(arrivals)).toBeLessThanOrEqual(perSecond);
}, 90_000);
