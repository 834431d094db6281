// Risk retired: a deployment behind Redis Sentinel (the usual way to survive losing the Redis
// primary) cannot connect at all, or connects to the wrong server, or loses its credentials.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestRedis, freePort, waitFor } from '@ctc-hub/testing';
import { Queue } from 'bullmq';
import { createRedis, redisTargetOptions, waitForRedis } from './connections.js';

const testRedis = createTestRedis();
const primary = new URL(testRedis.url);
let sentinel: ChildProcess | undefined;
let sentinelPort = 0;
let dir = '';

beforeAll(async () => {
  // A real Sentinel (redis-server --sentinel) watching the test Redis as primary "ctctest". It
  // only reads from the primary; with a long down-after it never attempts a failover.
  sentinelPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'ctc-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ctctest ${primary.hostname} ${primary.port || 6379} 1`,
      'sentinel down-after-milliseconds ctctest 600000',
      '',
    ].join('\n'),
  );
  sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  sentinel.unref();
}, 20_000);
afterAll(async () => {
  if (sentinel !== undefined && sentinel.exitCode === null) {
    const exited = new Promise((resolve) => sentinel!.once('exit', resolve));
    sentinel.kill('SIGTERM');
    await exited;
  }
  await testRedis.cleanup();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

it('finds the primary through Sentinel and works as a BullMQ connection', async () => {
  const target = {
    REDIS_URL: 'redis://ignored-host:1/0',
    REDIS_SENTINELS: [`127.0.0.1:${sentinelPort}`],
    REDIS_SENTINEL_NAME: 'ctctest',
  };
  const redis = createRedis(target, 'client');
  const worker = createRedis(target, 'worker');
  try {
    await waitFor(
      async () =>
        (await waitForRedis(redis, 1000).then(
          () => true,
          () => false,
        )) || undefined,
      {
        timeoutMs: 15_000,
        what: 'a connection through Sentinel',
      },
    );
    const key = `${testRedis.prefix}:sentinel-probe`;
    await redis.set(key, 'through-sentinel');
    // The value is in the primary the Sentinel watches: the test's own Redis.
    const direct = createRedis(testRedis.url, 'client');
    await waitForRedis(direct);
    expect(await direct.get(key)).toBe('through-sentinel');
    await direct.quit();

    const queue = new Queue('sentinel-check', { connection: worker, prefix: testRedis.prefix });
    const job = await queue.add('probe', { ok: true });
    expect((await queue.getJob(job.id!))?.data).toEqual({ ok: true });
    await queue.close();
  } finally {
    const ended = [redis, worker].map((c) => new Promise((resolve) => c.once('end', resolve)));
    redis.disconnect();
    worker.disconnect();
    await Promise.all(ended);
  }
}, 30_000);

it('keeps credentials, database and TLS from REDIS_URL when Sentinels are set', () => {
  expect(
    redisTargetOptions({
      REDIS_URL: 'rediss://ctc:s%40cret@ignored:6379/3',
      REDIS_SENTINELS: ['10.0.0.1:26379', 'sentinel-2.internal:26380'],
      REDIS_SENTINEL_NAME: 'primary',
    }),
  ).toEqual({
    options: {
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-2.internal', port: 26380 },
      ],
      name: 'primary',
      username: 'ctc',
      password: 's@cret',
      db: 3,
      tls: {},
      enableTLSForSentinelMode: true,
    },
  });
  expect(redisTargetOptions({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_SENTINELS: [] })).toEqual({
    url: 'redis://127.0.0.1:6379',
    options: {},
  });
});
