// Risk retired: hostile or malformed input reaching the receiver or the submission API crashes a
// process, is answered with anything but a clear 4xx naming the problem, holds a connection open
// forever, makes a request to a host it names, or ends up stored as if it were a real message.
// A corpus of cases, each with the answer it must get, against the whole stack on real Postgres
// and Redis (receiver, worker, api, HMRC sandbox), then checks of what was stored and fetched.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signPayload } from '@ctc-hub/ppns';
import {
  createTestDatabase,
  createTestRedis,
  hex16,
  testBoxId,
  testPushSecret,
  v2MessageReceived,
  waitFor,
  type TestDatabase,
  type TestRedis,
} from '@ctc-hub/testing';
import { startStack, type Stack } from '../../scripts/stack.js';
import { apiCases } from './corpus/api.js';
import { messageUriCases } from './corpus/message-uri.js';
import { envelope, receiverCases } from './corpus/receiver.js';
import type { ApiCase, Expectation, ReceiverCase } from './corpus/types.js';
import * as xml from './corpus/xml.js';
import {
  rawRequest,
  recordOutboundRequests,
  socketExchange,
  type OutboundRequest,
  type RawResponse,
} from './support.js';

const maxBodyBytes = 512 * 1024;
const submissionMaxBytes = 2_000_000;
const receiverRequestTimeoutMs = 1500;
const headersTimeoutMs = 1000;
const apiRequestTimeoutMs = 3000;

// The canary counts connections: it stands in for an internal service a hostile messageUri names.
let canaryHits = 0;
const canary: Server = createServer((_request, response) => {
  canaryHits += 1;
  response.end('secret');
});
canary.on('connection', () => (canaryHits += 1));
const outbound = recordOutboundRequests();

let testDb: TestDatabase;
let redis: TestRedis;
let stack: Stack;
let canaryUrl: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', () => resolve()));
  canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
  testDb = await createTestDatabase();
  redis = createTestRedis();
  stack = await startStack({
    DATABASE_URL: testDb.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    // The shared test Redis has no persistence (nor has CI's): allowed explicitly.
    REDIS_DURABILITY: 'allow-volatile',
    HTTP_HOST: '127.0.0.1',
    RECEIVER_PORT: '0',
    API_PORT: '0',
    WORKER_PORT: '0',
    SANDBOX_PORT: '0',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    PPNS_PUSH_SECRETS: testPushSecret,
    SANDBOX_PUSH_SECRET: testPushSecret,
    PPNS_BOX_IDS: testBoxId,
    SANDBOX_BOX_ID: testBoxId,
    RECONCILE_ENABLED: 'false',
    RECEIVER_MAX_BODY_BYTES: String(maxBodyBytes),
    RECEIVER_REQUEST_TIMEOUT_MS: String(receiverRequestTimeoutMs),
    HTTP_HEADERS_TIMEOUT_MS: String(headersTimeoutMs),
    HTTP_REQUEST_TIMEOUT_MS: String(apiRequestTimeoutMs),
    SUBMISSION_MAX_BYTES: String(submissionMaxBytes),
    // Hundreds of requests from one key in a few seconds are the point here, not abuse.
    API_RATE_LIMIT_PER_SECOND: '0',
  });
}, 60_000);

afterAll(async () => {
  outbound.stop();
  await stack?.stop();
  await new Promise<void>((resolve) => canary.close(() => resolve()));
  await redis?.cleanup();
  await testDb?.destroy();
});

/** Every notification the receiver accepted, with what the worker must end with. */
const accepted: NonNullable<ReceiverCase['accepted']>[] = [];

function signatureHeader(testCase: ReceiverCase): Record<string, string> {
  const signature = testCase.signature ?? 'valid';
  if (signature === 'none') return {};
  if (signature === 'valid') {
    return { 'x-hub-signature': signPayload(testPushSecret, testCase.body) };
  }
  if ('header' in signature) return { 'x-hub-signature': signature.header };
  if ('secret' in signature)
    return { 'x-hub-signature': signPayload(signature.secret, testCase.body) };
  return { 'x-hub-signature': signPayload(testPushSecret, signature.over) };
}

function expectAnswer(response: RawResponse, expected: Expectation): void {
  // Status, code and field together, so a failure shows the whole answer.
  const got = {
    status: response.status,
    ...(expected.code !== undefined ? { code: response.json?.code } : {}),
    ...(expected.field !== undefined ? { field: response.json?.field } : {}),
  };
  expect({ ...got, body: response.text.slice(0, 300) }).toMatchObject({
    status: expected.status,
    ...(expected.code !== undefined ? { code: expected.code } : {}),
    ...(expected.field !== undefined ? { field: expected.field } : {}),
  });
  if (expected.status >= 400) {
    // Every refusal is JSON naming the problem, never an HTML page or an empty body.
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(typeof response.json?.code).toBe('string');
    expect(typeof response.json?.message).toBe('string');
  }
  if (expected.mentions !== undefined)
    expect(JSON.stringify(response.json)).toMatch(expected.mentions);
}

const push = (testCase: ReceiverCase) =>
  rawRequest(`${stack.receiverUrl}/ppns/callback`, {
    headers: {
      ...(testCase.contentType !== null
        ? { 'content-type': testCase.contentType ?? 'application/json' }
        : {}),
      ...signatureHeader(testCase),
      ...testCase.headers,
    },
    body: testCase.body,
    ...(testCase.chunked ? { chunked: true } : {}),
  });

const receiverCorpus = () => [...receiverCases(maxBodyBytes), ...messageUriCases(canaryUrl)];

describe('receiver corpus: POST /ppns/callback', () => {
  // Cases are built lazily (the canary's port is known only once it listens), by index.
  const count = receiverCases(maxBodyBytes).length + messageUriCases('http://127.0.0.1:1').length;
  const names = [...receiverCases(maxBodyBytes), ...messageUriCases('http://127.0.0.1:1')].map(
    (testCase) => testCase.name,
  );
  let cases: ReceiverCase[];
  beforeAll(() => {
    cases = receiverCorpus();
    expect(cases).toHaveLength(count);
  });

  it.each(names.map((name, index) => [index, name] as const))('#%i %s', async (index) => {
    const testCase = cases[index]!;
    const response = await push(testCase);
    expectAnswer(response, testCase.expected);
    if (testCase.accepted !== undefined) {
      expect(response.json).toEqual({
        status: 'accepted',
        notificationId: testCase.accepted.notificationId,
      });
      accepted.push(testCase.accepted);
    }
  });

  it('answers a replayed notification 200 every time and stores it once', async () => {
    const notificationId = randomUUID();
    const movementId = hex16();
    const message = v2MessageReceived({
      movementId,
      messageId: hex16(),
      messageType: 'IE029',
      messageBody: xml.ie029(),
    });
    const body = envelope({ notificationId, message: JSON.stringify(message) });
    const testCase: ReceiverCase = {
      name: 'replay',
      category: 'replay',
      body,
      expected: { status: 200 },
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      expectAnswer(await push(testCase), { status: 200 });
    }
    // Replayed again once the first copy has been stored.
    await waitForNotification(notificationId);
    expectAnswer(await push(testCase), { status: 200 });
    accepted.push({ notificationId, outcome: { status: 'stored', knownType: true } });
  });
});

describe('api corpus: declarations', () => {
  const cases = apiCases(submissionMaxBytes);
  it.each(cases.map((testCase, index) => [index, testCase.name, testCase] as const))(
    '#%i %s',
    async (_index, _name, testCase: ApiCase) => {
      const response = await rawRequest(`${stack.apiUrl}${testCase.path}`, {
        method: testCase.method ?? 'POST',
        headers: {
          ...(testCase.contentType !== null
            ? { 'content-type': testCase.contentType ?? 'application/xml' }
            : {}),
          ...(testCase.apiKey !== null
            ? { authorization: `Bearer ${testCase.apiKey ?? stack.apiKey}` }
            : {}),
          ...testCase.headers,
        },
        body: testCase.body,
      });
      expectAnswer(response, testCase.expected);
    },
  );
});

describe('slow and malformed HTTP', () => {
  const host = (url: string) => new URL(url).host;
  const slowBody = (url: string, path: string, contentType: string, auth = '') =>
    socketExchange(url, {
      head:
        `POST ${path} HTTP/1.1\r\nHost: ${host(url)}\r\nContent-Type: ${contentType}\r\n${auth}` +
        'Content-Length: 100000\r\n\r\n{',
      // One byte every 200 ms: 100,000 bytes would take 5.5 hours.
      trickle: Array.from({ length: 200 }, () => ' '),
      intervalMs: 200,
    });

  it('cuts off a notification body trickled slower than RECEIVER_REQUEST_TIMEOUT_MS with 408', async () => {
    const result = await slowBody(stack.receiverUrl, '/ppns/callback', 'application/json');
    expect(result.closedByServer).toBe(true);
    expect(result.status).toBe(408);
    expect(result.json).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    // Generous: the timeout plus the once-a-second check, on a busy machine.
    expect(result.elapsedMs).toBeLessThan(receiverRequestTimeoutMs + 8000);
  });

  it('cuts off headers trickled slower than HTTP_HEADERS_TIMEOUT_MS', async () => {
    const result = await socketExchange(stack.receiverUrl, {
      head: `POST /ppns/callback HTTP/1.1\r\nHost: ${host(stack.receiverUrl)}\r\n`,
      trickle: Array.from({ length: 200 }, (_, i) => `X-Slow-${i}: a\r\n`),
      intervalMs: 200,
    });
    expect(result.closedByServer).toBe(true);
    expect(result.status).toBe(408);
    expect(result.elapsedMs).toBeLessThan(headersTimeoutMs + 8000);
  });

  it('cuts off a declaration trickled slower than HTTP_REQUEST_TIMEOUT_MS with 408', async () => {
    const result = await slowBody(
      stack.apiUrl,
      '/v1/departures',
      'application/xml',
      `Authorization: Bearer ${stack.apiKey}\r\n`,
    );
    expect(result.closedByServer).toBe(true);
    expect(result.status).toBe(408);
    expect(result.json).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(result.elapsedMs).toBeLessThan(apiRequestTimeoutMs + 8000);
  });

  it('answers headers over Node’s limit with 431 and JSON', async () => {
    const result = await socketExchange(stack.receiverUrl, {
      head:
        `POST /ppns/callback HTTP/1.1\r\nHost: ${host(stack.receiverUrl)}\r\n` +
        `X-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    });
    expect(result.status).toBe(431);
    expect(result.json).toMatchObject({ code: 'HEADERS_TOO_LARGE' });
  });

  it('answers a request-smuggling shape (Content-Length and chunked) with 400 and JSON', async () => {
    const result = await socketExchange(stack.receiverUrl, {
      head:
        `POST /ppns/callback HTTP/1.1\r\nHost: ${host(stack.receiverUrl)}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '0\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n',
    });
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('answers a body shorter than its Content-Length, once the client gives up, without a crash', async () => {
    const result = await socketExchange(stack.receiverUrl, {
      head:
        `POST /ppns/callback HTTP/1.1\r\nHost: ${host(stack.receiverUrl)}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"a":',
      giveUpMs: 300,
    });
    expect(result.closedByServer).toBe(false);
    expect((await rawRequest(`${stack.receiverUrl}/healthz`, { method: 'GET' })).status).toBe(200);
  });
});

interface NotificationRow {
  notification_id: string;
  status: string;
  error: string | null;
}

async function notificationRows(ids: string[]): Promise<NotificationRow[]> {
  if (ids.length === 0) return [];
  return testDb.db
    .selectFrom('notifications')
    .select(['notification_id', 'status', 'error'])
    .where('notification_id', 'in', ids)
    .execute();
}

const waitForNotification = (id: string) =>
  waitFor(
    async () => {
      const [row] = await notificationRows([id]);
      return row !== undefined && row.status !== 'queued' ? row : undefined;
    },
    { timeoutMs: 20_000, what: `notification ${id} processed` },
  );

describe('afterwards', () => {
  it('ends every accepted notification as expected: quarantined ones as dead letters, with no message', async () => {
    expect(accepted.length).toBeGreaterThan(20);
    const ids = accepted.map((entry) => entry.notificationId);
    const rows = await waitFor(
      async () => {
        const found = await notificationRows(ids);
        return found.length === ids.length && found.every((row) => row.status !== 'queued')
          ? found
          : undefined;
      },
      { timeoutMs: 30_000, what: 'every accepted notification processed' },
    );
    const letters = await testDb.db
      .selectFrom('dead_letters')
      .select(['notification_id', 'error_code', 'kind'])
      .execute();
    const messages = await testDb.db
      .selectFrom('messages')
      .select(['notification_id', 'known_type'])
      .execute();

    for (const { notificationId, outcome } of accepted) {
      const row = rows.find((candidate) => candidate.notification_id === notificationId);
      const ofThis = (entry: { notification_id: string | null }) =>
        entry.notification_id === notificationId;
      if (outcome.status === 'quarantined') {
        expect({ notificationId, status: row?.status }).toEqual({
          notificationId,
          status: 'quarantined',
        });
        expect(letters.filter(ofThis).map((letter) => letter.error_code)).toEqual([
          outcome.errorCode,
        ]);
        expect(messages.filter(ofThis)).toEqual([]);
      } else {
        expect({ notificationId, status: row?.status }).toEqual({
          notificationId,
          status: 'stored',
        });
        expect(messages.filter(ofThis).map((message) => message.known_type)).toEqual([
          outcome.knownType,
        ]);
      }
    }
  });

  it('stored nothing else: no other notification, message, dead letter or submission', async () => {
    const ids = new Set(accepted.map((entry) => entry.notificationId));
    const notifications = await testDb.db
      .selectFrom('notifications')
      .select('notification_id')
      .execute();
    expect(notifications.map((row) => row.notification_id).sort()).toEqual([...ids].sort());
    const messages = await testDb.db.selectFrom('messages').select('notification_id').execute();
    const stored = accepted.filter((entry) => entry.outcome.status === 'stored');
    expect(messages).toHaveLength(stored.length);
    const letters = await testDb.db.selectFrom('dead_letters').select('notification_id').execute();
    expect(letters).toHaveLength(accepted.length - stored.length);
    const submissions = await testDb.db.selectFrom('submissions').select('id').execute();
    expect(submissions).toEqual([]);
  });

  it('made no request to any host a messageUri or a document named', () => {
    expect(canaryHits).toBe(0);
    // The recorder works: it saw this file's own requests to the receiver.
    expect(outbound.requests.length).toBeGreaterThan(50);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const ours = new Set(
      [stack.receiverUrl, stack.apiUrl, stack.workerUrl].map((url) => new URL(url).host),
    );
    const elsewhere = outbound.requests.filter(
      (request: OutboundRequest) => !ours.has(new URL(request.origin).host),
    );
    expect(elsewhere).toEqual([]);
  });

  it('is still healthy: /healthz answers 200 on receiver, api and worker', async () => {
    for (const url of [stack.receiverUrl, stack.apiUrl, stack.workerUrl]) {
      const response = await rawRequest(`${url}/healthz`, { method: 'GET' });
      expect({ url, status: response.status }).toEqual({ url, status: 200 });
    }
  });
});
