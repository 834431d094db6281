// Risk retired: the receiver answers PPNS with exactly the right status for every kind of input,
// answers 200 only once the job is in Redis, and answers 503 (never 200, never 4xx) when Redis is
// gone, so PPNS keeps retrying instead of losing the notification.
import { randomUUID } from 'node:crypto';
import { loadReceiverConfig } from '@ctc-hub/config';
import { jobIds } from '@ctc-hub/queue';
import {
  createTestRedis,
  ppnsEnvelope,
  pushToCallback,
  requireEnv,
  TcpProxy,
  testBoxId,
  testPushSecret,
  type TestRedis,
} from '@ctc-hub/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startReceiver, type ReceiverHandle } from './start.js';

let redis: TestRedis;
let proxy: TcpProxy;
let receiver: ReceiverHandle;
let queue: Queue;
let queueConnection: Redis;
let base: string;

const envFor = (overrides: Record<string, string> = {}) => ({
  REDIS_URL: proxy.rewrite(redis.url),
  QUEUE_PREFIX: redis.prefix,
  // The shared test Redis has no persistence (nor has CI's): allowed explicitly.
  REDIS_DURABILITY: 'allow-volatile',
  DATABASE_URL: requireEnv('CTC_TEST_POSTGRES_URL'),
  RECEIVER_PORT: '0',
  HTTP_HOST: '127.0.0.1',
  PPNS_PUSH_SECRETS: `OLDSECRET000000000000000000000000,${testPushSecret}`,
  PPNS_BOX_IDS: testBoxId,
  RECEIVER_MAX_BODY_BYTES: '4096',
  RECEIVER_ENQUEUE_TIMEOUT_MS: '500',
  LOG_LEVEL: 'silent',
  ...overrides,
});

beforeAll(async () => {
  redis = createTestRedis();
  proxy = TcpProxy.forUrl(redis.url);
  await proxy.start();
  receiver = await startReceiver(loadReceiverConfig(envFor()));
  base = `http://127.0.0.1:${receiver.port}`;
  queueConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue('ingest', { connection: queueConnection, prefix: redis.prefix });
});

afterAll(async () => {
  await receiver.stop();
  await queue.close();
  queueConnection.disconnect();
  await proxy.stop();
  await redis.cleanup();
});

const callback = () => `${base}/ppns/callback`;

describe('GET /ppns/callback (PPNS callback validation)', () => {
  it('echoes the challenge as JSON', async () => {
    const challenge = randomUUID();
    const response = await fetch(`${callback()}?challenge=${challenge}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ challenge });
  });

  it('answers 400 without a challenge', async () => {
    const response = await fetch(callback());
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('POST /ppns/callback', () => {
  it('queues a valid, signed notification under a job id derived from notificationId and answers 200', async () => {
    const notificationId = randomUUID();
    const body = ppnsEnvelope({ notificationId });
    const response = await pushToCallback(callback(), body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'accepted', notificationId });
    const job = await queue.getJob(jobIds.ingest(notificationId));
    expect(job?.data).toMatchObject({
      notificationId,
      boxId: testBoxId,
      source: 'push',
      envelope: body,
    });
  });

  it('accepts a charset parameter and a signature made with an older secret during rotation', async () => {
    const body = ppnsEnvelope();
    const response = await pushToCallback(callback(), body, {
      secret: 'OLDSECRET000000000000000000000000',
      contentType: 'application/json; charset=utf-8',
    });
    expect(response.status).toBe(200);
  });

  it('queues the same notification once however often it is pushed', async () => {
    const notificationId = randomUUID();
    const body = ppnsEnvelope({ notificationId });
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => pushToCallback(callback(), body)),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    const counts = await queue.getJobCounts(
      'waiting',
      'active',
      'completed',
      'delayed',
      'prioritized',
    );
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(jobs.filter((job) => job.data.notificationId === notificationId)).toHaveLength(1);
    expect(counts).toBeDefined();
  });

  it.each([
    ['text/plain', 415],
    ['text/json', 415],
    ['application/xml', 415],
    ['application/jsonp', 415],
  ])('answers %s with %i', async (contentType, status) => {
    const response = await pushToCallback(callback(), ppnsEnvelope(), { contentType });
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('answers 413 for a body over RECEIVER_MAX_BODY_BYTES', async () => {
    const body = ppnsEnvelope({ message: { padding: 'x'.repeat(5000) } });
    const response = await pushToCallback(callback(), body);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it.each([
    ['no signature', null, undefined],
    ['a signature under an unknown secret', 'WRONGSECRET00000000000000000000', undefined],
    ['a signature of a different body', testPushSecret, ppnsEnvelope()],
  ])('answers 401 for %s', async (_label, secret, signedBody) => {
    const body = ppnsEnvelope();
    const headers: Record<string, string> = {};
    if (signedBody !== undefined) {
      const { signPayload } = await import('@ctc-hub/ppns');
      headers['x-hub-signature'] = signPayload(testPushSecret, signedBody);
    }
    const response = await pushToCallback(callback(), body, {
      secret: signedBody === undefined ? secret : null,
      headers,
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('answers 400 naming the field of an invalid envelope', async () => {
    const body = JSON.stringify({ ...JSON.parse(ppnsEnvelope()), createdDateTime: 'yesterday' });
    const response = await pushToCallback(callback(), body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'INVALID_ENVELOPE',
      field: 'createdDateTime',
    });
  });

  it('answers 400 for malformed JSON and for invalid UTF-8', async () => {
    const truncated = await pushToCallback(callback(), ppnsEnvelope().slice(0, 40));
    expect(truncated.status).toBe(400);
    expect(await truncated.json()).toMatchObject({ code: 'INVALID_JSON' });
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"a":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const response = await pushToCallback(callback(), invalidUtf8);
    expect(response.status).toBe(400);
  });

  it('answers 403 for a box outside PPNS_BOX_IDS', async () => {
    const response = await pushToCallback(callback(), ppnsEnvelope({ boxId: randomUUID() }));
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'UNKNOWN_BOX' });
  });

  it('answers 405 for other methods', async () => {
    const response = await fetch(callback(), { method: 'PUT' });
    expect(response.status).toBe(405);
  });
});

describe('when Redis is unavailable', () => {
  afterEach(() => {
    proxy.blackhole(false);
  });

  it('answers 503 with Retry-After, never 200, and accepts again once Redis is back', async () => {
    await proxy.stop();
    const notificationId = randomUUID();
    const response = await pushToCallback(callback(), ppnsEnvelope({ notificationId }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(await queue.getJob(jobIds.ingest(notificationId))).toBeUndefined();

    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);

    await proxy.start();
    const retried = await waitForStatus(
      () => pushToCallback(callback(), ppnsEnvelope({ notificationId })),
      200,
    );
    expect(retried).toBe(200);
    expect(await queue.getJob(jobIds.ingest(notificationId))).toBeDefined();
  });

  it('answers 503 within the deadline when Redis stops answering', async () => {
    proxy.blackhole(true);
    const started = Date.now();
    const response = await pushToCallback(callback(), ppnsEnvelope());
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('ops endpoints', () => {
  it('serves /healthz, /readyz and /metrics with notification outcomes', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await waitForStatus(() => fetch(`${base}/readyz`), 200);
    expect(ready).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/ctc_receiver_notifications_total\{[^}]*outcome="accepted"[^}]*\} \d+/);
    expect(metrics).toMatch(/ctc_receiver_notifications_total\{[^}]*outcome="invalid_signature"/);
  });
});

describe('with PPNS_SIGNATURE_REQUIRED=false', () => {
  it('accepts unsigned notifications', async () => {
    const unsigned = await startReceiver(
      loadReceiverConfig(envFor({ PPNS_SIGNATURE_REQUIRED: 'false', PPNS_PUSH_SECRETS: '' })),
    );
    try {
      const response = await pushToCallback(
        `http://127.0.0.1:${unsigned.port}/ppns/callback`,
        ppnsEnvelope(),
        { secret: null },
      );
      expect(response.status).toBe(200);
    } finally {
      await unsigned.stop();
    }
  });
});

describe('with RECEIVER_ALLOWED_CIDRS', () => {
  const jobOf = async (body: string) =>
    queue.getJob(jobIds.ingest(JSON.parse(body).notificationId as string));

  it('refuses other sources with 403 before reading the body, and queues nothing', async () => {
    const guarded = await startReceiver(
      loadReceiverConfig(envFor({ RECEIVER_ALLOWED_CIDRS: '203.0.113.0/24, 2001:db8::/32' })),
    );
    // Ready first: this test never touches Redis, and stopping mid-connect is another matter.
    await waitForStatus(() => fetch(`http://127.0.0.1:${guarded.port}/readyz`), 200);
    try {
      const body = ppnsEnvelope();
      const response = await pushToCallback(
        `http://127.0.0.1:${guarded.port}/ppns/callback`,
        body,
        // Not a trusted proxy: its X-Forwarded-For is not believed.
        { headers: { 'x-forwarded-for': '203.0.113.5' } },
      );
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/RECEIVER_ALLOWED_CIDRS/),
      });
      expect(await jobOf(body)).toBeUndefined();
    } finally {
      await guarded.stop();
    }
  });

  it('takes the client address from X-Forwarded-For behind a trusted proxy', async () => {
    const behindProxy = await startReceiver(
      loadReceiverConfig(
        envFor({
          RECEIVER_ALLOWED_CIDRS: '203.0.113.0/24',
          RECEIVER_TRUSTED_PROXY_CIDRS: '127.0.0.1/32, ::1/128',
        }),
      ),
    );
    const url = `http://127.0.0.1:${behindProxy.port}/ppns/callback`;
    try {
      const allowed = ppnsEnvelope();
      const fromAllowed = await pushToCallback(url, allowed, {
        headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.5' },
      });
      expect(fromAllowed.status).toBe(200);
      expect(await jobOf(allowed)).toBeDefined();

      const refused = await pushToCallback(url, ppnsEnvelope(), {
        headers: { 'x-forwarded-for': '203.0.113.5, 198.51.100.1' },
      });
      expect(refused.status).toBe(403);
      // The proxy itself, with no header, is not a permitted source.
      expect((await pushToCallback(url, ppnsEnvelope())).status).toBe(403);
    } finally {
      await behindProxy.stop();
    }
  });

  it('does not start with a range it cannot read', async () => {
    await expect(
      startReceiver(loadReceiverConfig(envFor({ RECEIVER_ALLOWED_CIDRS: '203.0.113.0/40' }))),
    ).rejects.toThrow(/RECEIVER_ALLOWED_CIDRS: "203.0.113.0\/40"/);
  });
});

async function waitForStatus(
  request: () => Promise<Response>,
  want: number,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await request()).status;
    if (status === want) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return status;
}
