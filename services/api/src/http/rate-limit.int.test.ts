// Risk retired: one runaway internal client (a loop with no back-off) takes the api and the
// database down for every other system; and JSON answers that a browser could sniff, frame or
// cache.
import { createLogger } from '@ctc-hub/telemetry';
import { keys, startTestApi, type TestApi } from '../test-support/api.js';
import { rateLimitPerKey } from './rate-limit.js';

let api: TestApi;
beforeAll(async () => {
  // 2 requests a second with bursts of 5: small enough to exhaust in a test, big enough that
  // the refill does not race the assertions.
  api = await startTestApi({ API_RATE_LIMIT_PER_SECOND: '2', API_RATE_LIMIT_BURST: '5' });
});
afterAll(async () => {
  await api.close();
});

const list = (key: string) => api.get('/customs/transits/movements/departures', { key });

it('answers 429 with Retry-After once a key has spent its burst, other keys unaffected', async () => {
  const answers = [];
  for (let index = 0; index < 8; index += 1) answers.push(await list(keys.a));
  const statuses = answers.map((answer) => answer.status);
  expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
  expect(statuses.slice(5)).toContain(429);

  const limited = answers.find((answer) => answer.status === 429)!;
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(limited.headers.get('ratelimit-limit')).toBe('5');
  expect(limited.headers.get('ratelimit-remaining')).toBe('0');
  expect(await limited.json()).toEqual({
    code: 'RATE_LIMITED',
    message: expect.stringMatching(/2 requests per second/),
  });

  // Another key has its own bucket.
  expect((await list(keys.b)).status).toBe(200);
  // Unknown keys are refused before they reach the limiter: still 401, not 429.
  expect((await list('no-such-key')).status).toBe(401);
});

it('refills the bucket over time', async () => {
  for (let index = 0; index < 10; index += 1) await list(keys.all);
  expect((await list(keys.all)).status).toBe(429);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  expect((await list(keys.all)).status).toBe(200);
});

it('sends security headers and a request id on every answer, errors included', async () => {
  for (const answer of [
    await api.get('/healthz'),
    await list(keys.b),
    await api.get('/v1/nothing-here', { key: keys.b }),
  ]) {
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
    expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    expect(answer.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  }
  const echoed = await api.get('/healthz', { headers: { 'x-request-id': 'trace-abc.1' } });
  expect(echoed.headers.get('x-request-id')).toBe('trace-abc.1');
});

it("does not charge a key's bucket for requests that fail authentication", async () => {
  const before = Number((await list(keys.b)).headers.get('ratelimit-remaining'));
  // A flood of unknown keys, near-misses of the key, and malformed headers.
  for (const key of ['no-such-key', `${keys.b}x`, keys.b.slice(0, -1), `${keys.b} ${keys.b}`])
    for (let index = 0; index < 10; index += 1) expect((await list(key)).status).toBe(401);
  const after = await list(keys.b);
  expect(after.status).toBe(200);
  // One token for this request, none for the 40 refused ones (the bucket may have refilled a bit).
  expect(Number(after.headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(before - 1);
});

it('holds the rate across replicas that lease tokens from the shared bucket', async () => {
  // Burst 40: each replica takes 2 tokens per Redis round trip and spends the second itself.
  const options = {
    redis: api.redis,
    prefix: `${api.prefix}lease`,
    perSecond: 1,
    burst: 40,
    logger: createLogger({ service: 'api-test', level: 'silent' }),
  };
  const replicas = [rateLimitPerKey(options), rateLimitPerKey(options)];
  const ask = async (limiter: (typeof replicas)[number]) => {
    let passed = false;
    const response = {
      setHeader: () => response,
      status: () => response,
      json: () => response,
    };
    await limiter(
      { principal: { keyId: 'leasekey', eoris: '*' } } as never,
      response as never,
      () => {
        passed = true;
      },
    );
    return passed;
  };
  // 30 at once on one replica: all within the burst, none refused while another's lease holds
  // tokens.
  const together = await Promise.all(Array.from({ length: 30 }, () => ask(replicas[0]!)));
  expect(together.filter(Boolean)).toHaveLength(30);
  let passed = 30;
  for (let index = 0; index < 40; index += 1) if (await ask(replicas[index % 2]!)) passed += 1;
  // The burst, plus at most the token or two the bucket refilled meanwhile; none lost either.
  expect(passed).toBeGreaterThanOrEqual(40);
  expect(passed).toBeLessThanOrEqual(42);
});
