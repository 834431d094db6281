// Risk retired: a service starts against a Redis that forgets or evicts the jobs it acknowledged
// (the reviewer lost 1,155 of 18,844 notifications answered 200 that way), or hangs forever on
// one that does not answer. Each case runs a real redis-server with the settings in question.
import { StartupError } from '@ctc-hub/config';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, initMetrics } from '@ctc-hub/telemetry';
import { durableRedisConfig, freePort, RedisServer, waitFor } from '@ctc-hub/testing';
import { Redis } from 'ioredis';
import { RedisDurabilityGuard, type RedisSettings } from './redis-guard.js';

const logger = createLogger({ service: 'redis-guard-test', level: 'silent' });
const volatile = ['appendonly no', 'save ""', 'maxmemory-policy noeviction'];

const servers: RedisServer[] = [];
const guards: RedisDurabilityGuard[] = [];
afterAll(async () => {
  for (const guard of guards) guard.close();
  await Promise.all(servers.map((server) => server.destroy()));
});

async function server(config: readonly string[], options?: { sentinel?: boolean }) {
  const started = await RedisServer.start(config, options);
  servers.push(started);
  return started;
}

const settings = (url: string, overrides: Partial<RedisSettings> = {}): RedisSettings => ({
  REDIS_URL: url,
  REDIS_SENTINELS: [],
  REDIS_SENTINEL_NAME: 'ctc',
  REDIS_DURABILITY: undefined,
  REDIS_ACCEPTED_LOSS_SECONDS: 1,
  REDIS_STARTUP_TIMEOUT_SECONDS: 10,
  ...overrides,
});

async function open(given: RedisSettings) {
  const guard = await RedisDurabilityGuard.open(given, logger);
  guards.push(guard);
  return guard;
}

/** The StartupError `open` refuses with. */
async function refusal(given: RedisSettings): Promise<string> {
  const error = await open(given).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(StartupError);
  return (error as StartupError).message;
}

it('refuses a Redis without persistence, naming REDIS_URL and the fix; allow-volatile runs and says so', async () => {
  const redis = await server(volatile);
  const message = await refusal(settings(redis.url));
  expect(message).toContain(`${redis.url} (REDIS_URL)`);
  expect(message).toMatch(/no persistence \(appendonly no, save ""\)/);
  expect(message).toMatch(/appendonly yes/);

  const allowed = await open(settings(redis.url, { REDIS_DURABILITY: 'allow-volatile' }));
  expect(allowed.verdict.risks).toHaveLength(1);
  const detail = await allowed.readiness();
  expect(detail.text).toMatch(/no persistence.*\[REDIS_DURABILITY=allow-volatile\]/);
}, 30_000);

it('accepts AOF with noeviction, and turns not ready (and says so on /metrics) when persistence is switched off at runtime', async () => {
  const redis = await server(durableRedisConfig);
  const guard = await open(settings(redis.url));
  expect(guard.verdict.acceptable).toBe(true);
  expect((await guard.readiness()).text).toMatch(/^AOF, appendfsync everysec/);
  const metrics = initMetrics('redis-guard-test');
  guard.observeWith(metrics.meter);
  const scrapes = createServer((request, response) => metrics.serve(request, response));
  await new Promise<void>((resolve) => scrapes.listen(0, '127.0.0.1', resolve));
  const gauge = async () => {
    const text = await (
      await fetch(`http://127.0.0.1:${(scrapes.address() as AddressInfo).port}/metrics`)
    ).text();
    return /^ctc_redis_durability_ok (\d)/m.exec(text)?.[1];
  };
  expect(await gauge()).toBe('1');

  const admin = new Redis(redis.url);
  try {
    await admin.config('SET', 'appendonly', 'no');
    // The verdict is re-read at most every 5 s.
    const failure = await waitFor(
      () =>
        guard.readiness().then(
          () => undefined,
          (error: Error) => error.message,
        ),
      { timeoutMs: 15_000, intervalMs: 250, what: '/readyz to see persistence off' },
    );
    expect(failure).toMatch(/no persistence/);
    expect(await gauge()).toBe('0');
    await admin.config('SET', 'appendonly', 'yes');
    await waitFor(() => guard.readiness().then(() => true), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'ready again',
    });
  } finally {
    admin.disconnect();
    scrapes.close();
  }
}, 40_000);

it('states the loss window of RDB snapshots and accepts it only when REDIS_ACCEPTED_LOSS_SECONDS covers it', async () => {
  const redis = await server(['appendonly no', 'save 300 1', 'maxmemory-policy noeviction']);
  const message = await refusal(settings(redis.url));
  expect(message).toMatch(/up to 300 s/);
  expect(message).toMatch(/REDIS_ACCEPTED_LOSS_SECONDS=300/);

  const guard = await open(settings(redis.url, { REDIS_ACCEPTED_LOSS_SECONDS: 300 }));
  expect(guard.verdict.state).toMatch(/RDB snapshots only \(save "300 1"\).*up to 300 s/);
}, 30_000);

it('refuses an eviction policy other than noeviction, even with AOF', async () => {
  const redis = await server(['appendonly yes', 'maxmemory 64mb', 'maxmemory-policy allkeys-lru']);
  const message = await refusal(settings(redis.url));
  expect(message).toMatch(/maxmemory-policy is allkeys-lru/);
  expect(message).toMatch(/set maxmemory-policy noeviction/);
}, 30_000);

it('refuses a Redis that denies CONFIG unless the operator states its guarantee, and still sees an evicting policy', async () => {
  const denied = await server([...volatile, 'rename-command CONFIG ""']);
  expect(await refusal(settings(denied.url))).toMatch(
    /denies CONFIG GET.*REDIS_DURABILITY=assume-durable/,
  );
  const assumed = await open(settings(denied.url, { REDIS_DURABILITY: 'assume-durable' }));
  expect((await assumed.readiness()).text).toMatch(
    /CONFIG GET denied.*maxmemory-policy noeviction.*\[REDIS_DURABILITY=assume-durable\]/,
  );

  // INFO still shows the eviction policy, and no statement makes evicting queue keys safe.
  const evicting = await server([
    'appendonly yes',
    'maxmemory 64mb',
    'maxmemory-policy volatile-lru',
    'rename-command CONFIG ""',
  ]);
  expect(await refusal(settings(evicting.url, { REDIS_DURABILITY: 'assume-durable' }))).toMatch(
    /maxmemory-policy is volatile-lru/,
  );
}, 30_000);

it('checks the primary it finds through Sentinel', async () => {
  const primary = await server(volatile);
  const sentinel = await server(
    [
      `sentinel monitor ctcguard 127.0.0.1 ${primary.port} 1`,
      'sentinel down-after-milliseconds ctcguard 600000',
    ],
    { sentinel: true },
  );
  const message = await refusal(
    settings('redis://ignored:1', {
      REDIS_SENTINELS: [`127.0.0.1:${sentinel.port}`],
      REDIS_SENTINEL_NAME: 'ctcguard',
    }),
  );
  expect(message).toContain(`from the Sentinels 127.0.0.1:${sentinel.port} (REDIS_SENTINELS)`);
  expect(message).toMatch(/no persistence/);
}, 30_000);

it('gives up on a Redis that does not answer within REDIS_STARTUP_TIMEOUT_SECONDS, without printing the password', async () => {
  const port = await freePort();
  const url = `redis://ctc:hunter2@127.0.0.1:${port}`;
  const message = await refusal(settings(url, { REDIS_STARTUP_TIMEOUT_SECONDS: 1 }));
  expect(message).toContain(
    `Redis did not answer within 1 s at redis://ctc:***@127.0.0.1:${port} (REDIS_URL)`,
  );
  expect(message).toContain('ECONNREFUSED');
  expect(message).not.toContain('hunter2');
}, 30_000);
