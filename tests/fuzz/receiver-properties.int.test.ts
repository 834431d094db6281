// Risk retired: some request nobody wrote down makes the receiver answer 5xx for the sender's
// mistake, crash, leave an unhandled rejection, leak memory, or queue a notification that did not
// pass verification. Random bodies and headers over real HTTP against the real receiver and Redis.
import { randomUUID } from 'node:crypto';
import { loadReceiverConfig } from '@ctc-hub/config';
import { parseEnvelope, signPayload, verifySignature } from '@ctc-hub/ppns';
import { startReceiver, type ReceiverHandle } from '@ctc-hub/receiver';
import {
  createTestRedis,
  requireEnv,
  TcpProxy,
  testBoxId,
  testPushSecret,
  type TestRedis,
} from '@ctc-hub/testing';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { envelopeObject } from './corpus/receiver.js';
import { rawRequest } from './support.js';

const maxBodyBytes = 16 * 1024;
const seed = Number.isInteger(Number(process.env.FUZZ_SEED))
  ? Number(process.env.FUZZ_SEED)
  : undefined;

let redis: TestRedis;
let proxy: TcpProxy;
let receiver: ReceiverHandle;
let queue: Queue;
let connection: Redis;
let callback: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  redis = createTestRedis();
  proxy = TcpProxy.forUrl(redis.url);
  await proxy.start();
  receiver = await startReceiver(
    loadReceiverConfig({
      REDIS_URL: proxy.rewrite(redis.url),
      QUEUE_PREFIX: redis.prefix,
      // The shared test Redis has no persistence (nor has CI's): allowed explicitly.
      REDIS_DURABILITY: 'allow-volatile',
      DATABASE_URL: requireEnv('CTC_TEST_POSTGRES_URL'),
      RECEIVER_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      PPNS_PUSH_SECRETS: testPushSecret,
      PPNS_BOX_IDS: testBoxId,
      RECEIVER_MAX_BODY_BYTES: String(maxBodyBytes),
      RECEIVER_ENQUEUE_TIMEOUT_MS: '300',
      LOG_LEVEL: 'silent',
    }),
  );
  callback = `http://127.0.0.1:${receiver.port}/ppns/callback`;
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue('ingest', { connection, prefix: redis.prefix });
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await receiver?.stop();
  await queue?.close();
  connection?.disconnect();
  await proxy?.stop();
  await redis?.cleanup();
});

// Header values Node's client will send (visible ASCII), sometimes plausible, sometimes not.
const headerValue = fc.string({
  unit: fc.constantFrom(...' !#$%&*+-./0123456789:;=?@ABCXYZabcxyz_~'.split('')),
  maxLength: 60,
});
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json;',
      'text/plain',
      'application/xml',
      'application/jsonx',
      ';',
      '',
    ),
  },
  { weight: 1, arbitrary: headerValue },
);

/** An envelope, maybe valid, with a random subset of fields replaced by arbitrary JSON. */
const envelopeText = fc
  .record({
    notificationId: fc.uuid({ version: 4 }),
    boxId: fc.constantFrom(
      testBoxId,
      testBoxId,
      testBoxId.toUpperCase(),
      randomUUID(),
      'not-a-box',
    ),
    replace: fc.oneof(
      { weight: 3, arbitrary: fc.constant({}) },
      {
        weight: 2,
        arbitrary: fc.dictionary(
          fc.constantFrom(
            'notificationId',
            'messageContentType',
            'message',
            'status',
            'createdDateTime',
          ),
          fc.jsonValue({ maxDepth: 3 }),
          { minKeys: 1, maxKeys: 2 },
        ),
      },
    ),
  })
  .map(({ notificationId, boxId, replace }) =>
    JSON.stringify(envelopeObject({ notificationId, boxId, ...replace })),
  );

const body = fc.oneof(
  { weight: 5, arbitrary: envelopeText },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
  },
  { weight: 1, arbitrary: fc.nat({ max: 40 }).map((depth) => `${'['.repeat(depth * 1000)}`) },
  {
    weight: 1,
    arbitrary: fc
      .constant(null)
      .map(() => JSON.stringify(envelopeObject({ pad: 'x'.repeat(maxBodyBytes) }))),
  },
);

type SignatureChoice = 'valid' | 'none' | 'other-secret' | 'garbage' | 'random-hex';
const signature = fc.constantFrom<SignatureChoice>(
  'valid',
  'valid',
  'valid',
  'valid',
  'none',
  'other-secret',
  'garbage',
  'random-hex',
);

const extraHeaders = fc.option(
  fc.dictionary(
    // Not Expect: Node itself answers anything but 100-continue with a bodiless 417.
    fc.constantFrom('content-encoding', 'x-forwarded-for', 'traceparent', 'accept', 'x-random'),
    headerValue,
    { minKeys: 1, maxKeys: 3 },
  ),
  { freq: 2, nil: {} },
);

function signatureHeader(
  choice: SignatureChoice,
  payload: string | Buffer,
): Record<string, string> {
  switch (choice) {
    case 'valid':
      return { 'x-hub-signature': signPayload(testPushSecret, payload) };
    case 'other-secret':
      return { 'x-hub-signature': signPayload('ANOTHERSECRET', payload) };
    case 'garbage':
      return { 'x-hub-signature': 'sha1=deadbeef' };
    case 'random-hex':
      return { 'x-hub-signature': randomUUID().replace(/-/g, '').padEnd(40, '0') };
    case 'none':
      return {};
  }
}

/** What the receiver must answer, from the request alone (the oracle). */
function mustAccept(
  payload: string | Buffer,
  type: string,
  sig: Record<string, string>,
  headers: Record<string, string>,
): boolean {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (type.split(';', 1)[0]!.trim().toLowerCase() !== 'application/json') return false;
  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') return false;
  if (bytes.length > maxBodyBytes) return false;
  if (!verifySignature([testPushSecret], bytes, sig['x-hub-signature'])) return false;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  const parsed = parseEnvelope(text);
  return parsed.ok && parsed.envelope.boxId === testBoxId;
}

const queuedIds = async (): Promise<Set<string>> => {
  const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
  return new Set(jobs.map((job) => (job.data as { notificationId: string }).notificationId));
};

describe('receiver over HTTP', () => {
  const accepted = new Set<string>();

  it('answers every random request 2xx or 4xx with JSON, and 200 only for a verified envelope', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    await fc.assert(
      fc.asyncProperty(
        body,
        contentType,
        signature,
        extraHeaders,
        async (payload, type, sig, headers) => {
          const signed = signatureHeader(sig, payload);
          const response = await rawRequest(callback, {
            headers: { 'content-type': type, ...signed, ...headers },
            body: payload,
          });
          // 0 is a connection the server closed after answering early (413/415) while we still wrote.
          if (response.status === 0) return;
          expect([200, 400, 401, 403, 413, 415]).toContain(response.status);
          expect(response.headers['content-type']).toMatch(/^application\/json/);
          expect(response.status === 200 ? response.json?.status : response.json?.code).toEqual(
            expect.any(String),
          );
          // 200 exactly when the request carries a signed, valid envelope for one of our boxes.
          expect({
            status: response.status,
            accept: mustAccept(payload, type, signed, headers),
          }).toEqual({ status: response.status, accept: response.status === 200 });
          if (response.status === 200) accepted.add(response.json.notificationId as string);
        },
      ),
      { numRuns: 300, seed },
    );
    // Bounded memory: 300 requests must not leave the heap much bigger (generous; no forced GC).
    (globalThis as { gc?: () => void }).gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(128 * 1024 * 1024);
  });

  it('queued exactly the notifications it answered 200, nothing unverified', async () => {
    const queued = await queuedIds();
    expect([...queued].sort()).toEqual([...accepted].sort());
    // Valid signed envelopes are a minority of the generated requests (one run accepted 9 of
    // 300); fewer than 3 would mean the accepting side was hardly exercised.
    expect(accepted.size).toBeGreaterThan(2);
  });

  it('answers 503 (never 200, never another 5xx) while Redis is down, and recovers', async () => {
    await proxy.stop();
    try {
      await fc.assert(
        fc.asyncProperty(envelopeText, signature, async (payload, sig) => {
          const signed = signatureHeader(sig, payload);
          const response = await rawRequest(callback, {
            headers: { 'content-type': 'application/json', ...signed },
            body: payload,
          });
          expect(response.status).not.toBe(200);
          if (response.status >= 500) {
            expect(response.status).toBe(503);
            expect(response.headers['retry-after']).toBeDefined();
            // Only something that would have been accepted is our failure.
            expect(mustAccept(payload, 'application/json', signed, {})).toBe(true);
          }
        }),
        { numRuns: 30, seed },
      );
    } finally {
      await proxy.start();
    }
    const queued = await queuedIds();
    expect([...queued].sort()).toEqual([...accepted].sort());
  });

  it('had no unhandled rejection and is still healthy', async () => {
    expect(rejections).toEqual([]);
    const health = await rawRequest(`http://127.0.0.1:${receiver.port}/healthz`, { method: 'GET' });
    expect(health.status).toBe(200);
  });
});
