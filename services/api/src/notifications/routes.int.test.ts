// Risk retired: an operator (or a trader's system) can ask what became of a PPNS notification and
// get the truth: stored / duplicate / quarantined from Postgres, "queued" while the job still waits
// in Redis, 404 only when neither knows it, 503 (not a wrong 404) when Redis cannot be read; and a
// scoped key never learns about other traders' notifications.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatPpnsDateTime } from '@ctc-hub/ppns';
import { addJob, createQueue, createRedis, jobIds, jobs, queueNames } from '@ctc-hub/queue';
import { createLogger } from '@ctc-hub/telemetry';
import { TcpProxy, createTestRedis } from '@ctc-hub/testing';
import { loadApiConfig } from '@ctc-hub/config';
import { createApiApp } from '../app.js';
import {
  eoriA,
  eoriB,
  keys,
  startTestApi,
  type TestApi,
  type TestResponse,
} from '../test-support/api.js';
import { example, seedMovement, seedNotification } from '../test-support/seed.js';

let api: TestApi;
const boxId = '3a6f1e52-0c55-4b8e-9d0e-5f2a7c1b9e44';
const stored = randomUUID();
const quarantined = randomUUID();
const noEoriNotification = randomUUID();

beforeAll(async () => {
  api = await startTestApi();
  await seedNotification(api.db, {
    notificationId: stored,
    boxId,
    status: 'stored',
    createdAt: new Date('2026-11-20T10:20:23.160Z'),
    receivedAt: new Date('2026-11-20T10:20:23.500Z'),
    processedAt: new Date('2026-11-20T10:20:23.620Z'),
    movementType: 'departure',
    movementId: 'abcdef0123456789',
    messageId: 'fedcba9876543210',
    messageType: 'IE028',
  });
  await seedNotification(api.db, {
    notificationId: quarantined,
    boxId,
    status: 'quarantined',
    notificationType: null,
    enrollmentEori: null,
    createdAt: new Date('2026-11-20T11:00:00.000Z'),
    receivedAt: new Date('2026-11-20T11:00:00.100Z'),
    processedAt: new Date('2026-11-20T11:00:01.000Z'),
    error: 'message matches neither the CTC v2 nor the v1 notification',
    errorHistory: [
      {
        at: '2026-11-20T11:00:01.000Z',
        code: 'UNKNOWN_PAYLOAD',
        message: 'message matches neither…',
        attempt: 1,
      },
    ],
  });
  // Names no EORI itself; its movement belongs to eoriB.
  const movement = await seedMovement(api.db, {
    movementId: '0000000000000b0b',
    enrollmentEori: eoriB,
  });
  await seedNotification(api.db, {
    notificationId: noEoriNotification,
    status: 'duplicate',
    enrollmentEori: null,
    createdAt: new Date('2026-11-20T12:00:00.000Z'),
    receivedAt: new Date('2026-11-20T12:00:00.000Z'),
    processedAt: new Date('2026-11-20T12:00:00.000Z'),
    movementType: movement.movementType,
    movementId: movement.movementId,
    messageId: '0000000000000001',
    messageType: 'IE028',
  });
});

afterAll(async () => {
  await api.close();
});

describe('GET /v1/notifications/{notificationId}', () => {
  it('reports a stored notification with links to its movement and message', async () => {
    const response = await api.get(`/v1/notifications/${stored}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      notificationId: stored,
      boxId,
      status: 'stored',
      source: 'push',
      createdDateTime: '2026-11-20T10:20:23.160Z',
      receivedAt: '2026-11-20T10:20:23.500Z',
      processedAt: '2026-11-20T10:20:23.620Z',
      error: null,
      errorHistory: [],
      notificationType: 'MESSAGE_RECEIVED',
      movement: {
        type: 'departure',
        id: 'abcdef0123456789',
        _links: {
          self: { href: '/customs/transits/movements/departures/abcdef0123456789' },
          messages: { href: '/customs/transits/movements/departures/abcdef0123456789/messages' },
        },
      },
      message: {
        id: 'fedcba9876543210',
        type: 'IE028',
        _links: {
          self: {
            href: '/customs/transits/movements/departures/abcdef0123456789/messages/fedcba9876543210',
          },
          body: {
            href: '/customs/transits/movements/departures/abcdef0123456789/messages/fedcba9876543210/body',
          },
        },
      },
    });
  });

  it('reports a quarantined notification with its error history', async () => {
    const body = await (await api.get(`/v1/notifications/${quarantined.toUpperCase()}`)).json();
    expect(body).toEqual({
      notificationId: quarantined,
      boxId,
      status: 'quarantined',
      source: 'push',
      createdDateTime: '2026-11-20T11:00:00.000Z',
      receivedAt: '2026-11-20T11:00:00.100Z',
      processedAt: '2026-11-20T11:00:01.000Z',
      error: 'message matches neither the CTC v2 nor the v1 notification',
      errorHistory: [
        {
          at: '2026-11-20T11:00:01.000Z',
          code: 'UNKNOWN_PAYLOAD',
          message: 'message matches neither…',
          attempt: 1,
        },
      ],
      notificationType: null,
      movement: null,
      message: null,
    });
  });

  it("scopes by the notification's EORI, else by its movement's", async () => {
    expect((await api.get(`/v1/notifications/${stored}`, { key: keys.a })).status).toBe(200);
    const hidden = await api.get(`/v1/notifications/${stored}`, { key: keys.b });
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toEqual({
      code: 'NOT_FOUND',
      message: `Notification ${stored} was not found`,
    });
    expect((await api.get(`/v1/notifications/${noEoriNotification}`, { key: keys.b })).status).toBe(
      200,
    );
    expect((await api.get(`/v1/notifications/${noEoriNotification}`, { key: keys.a })).status).toBe(
      404,
    );
    // Nothing names an EORI: only unscoped keys may see it.
    expect((await api.get(`/v1/notifications/${quarantined}`, { key: keys.a })).status).toBe(404);
    expect((await api.get(`/v1/notifications/${quarantined}`)).status).toBe(200);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const unknown = randomUUID();
    const missing = await api.get(`/v1/notifications/${unknown}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      code: 'NOT_FOUND',
      message: `Notification ${unknown} was not found`,
    });
    const malformed = await api.get('/v1/notifications/12345');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      code: 'BAD_REQUEST',
      message: 'notificationId must be a UUID',
    });
  });
});

describe('GET /v1/notifications', () => {
  const ids = async (path: string, key?: string) => {
    const response = await api.get(path, key === undefined ? {} : { key });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      totalCount: number;
      notifications: { notificationId: string; _links: { self: { href: string } } }[];
    };
    return body;
  };

  it('lists stored notifications newest first, each linking to its status', async () => {
    const body = await ids('/v1/notifications');
    expect(body.notifications.map((n) => n.notificationId)).toEqual([
      noEoriNotification,
      quarantined,
      stored,
    ]);
    expect(body.totalCount).toBe(3);
    expect(body.notifications[2]).toMatchObject({
      _links: { self: { href: `/v1/notifications/${stored}` } },
      status: 'stored',
      movement: { id: 'abcdef0123456789' },
    });
  });

  it('is scoped like a single notification: a key sees only its EORIs', async () => {
    expect(
      (await ids('/v1/notifications', keys.a)).notifications.map((n) => n.notificationId),
    ).toEqual([stored]);
    expect(
      (await ids('/v1/notifications', keys.b)).notifications.map((n) => n.notificationId),
    ).toEqual([noEoriNotification]);
  });

  it('filters by status and time, pages, and refuses an unknown status', async () => {
    expect(
      (await ids('/v1/notifications?status=quarantined')).notifications.map(
        (n) => n.notificationId,
      ),
    ).toEqual([quarantined]);
    expect(
      (
        await ids('/v1/notifications?from=2026-11-20T10:30:00Z&to=2026-11-20T11:30:00Z')
      ).notifications.map((n) => n.notificationId),
    ).toEqual([quarantined]);
    const second = await ids('/v1/notifications?count=2&page=2');
    expect(second.notifications.map((n) => n.notificationId)).toEqual([stored]);
    const refused = await api.get('/v1/notifications?status=lost');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      code: 'BAD_REQUEST',
      message: 'The status parameter must be one of stored, duplicate, quarantined, queued',
    });
  });
});

/** A PPNS envelope as the receiver queues it: the CTC payload is a JSON string inside. */
function envelopeFor(notificationId: string, eori: string): string {
  return JSON.stringify({
    notificationId,
    boxId,
    messageContentType: 'application/json',
    message: JSON.stringify({
      messageUri: '/customs/transits/movements/arrivals/1234567890abcdef/messages/0fedcba987654321',
      notificationType: 'MESSAGE_RECEIVED',
      messageId: '0fedcba987654321',
      enrollmentEORINumber: eori,
      arrivalId: '1234567890abcdef',
      messageType: 'IE043',
      messageBody: example('cc043c-valid.xml').toString('utf8'),
    }),
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(new Date('2026-11-21T09:15:00.250Z')),
  });
}

describe('a notification accepted but not yet stored', () => {
  const queued = randomUUID();

  beforeAll(async () => {
    await addJob(
      api.ingestQueue,
      jobs.ingestNotification,
      {
        notificationId: queued,
        boxId,
        source: 'push',
        receivedAt: '2026-11-21T09:15:01.000Z',
        envelope: envelopeFor(queued, eoriA),
      },
      { jobId: jobIds.ingest(queued) },
    );
  });

  it('is reported as queued, from the job in Redis', async () => {
    const response = await api.get(`/v1/notifications/${queued}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      notificationId: queued,
      boxId,
      status: 'queued',
      source: 'push',
      createdDateTime: '2026-11-21T09:15:00.250Z',
      receivedAt: '2026-11-21T09:15:01.000Z',
      processedAt: null,
      error: null,
      errorHistory: [],
      notificationType: 'MESSAGE_RECEIVED',
      movement: {
        type: 'arrival',
        id: '1234567890abcdef',
        _links: {
          self: { href: '/customs/transits/movements/arrivals/1234567890abcdef' },
          messages: { href: '/customs/transits/movements/arrivals/1234567890abcdef/messages' },
        },
      },
      message: {
        id: '0fedcba987654321',
        type: 'IE043',
        _links: {
          self: {
            href: '/customs/transits/movements/arrivals/1234567890abcdef/messages/0fedcba987654321',
          },
          body: {
            href: '/customs/transits/movements/arrivals/1234567890abcdef/messages/0fedcba987654321/body',
          },
        },
      },
      queue: { state: 'waiting', attemptsMade: 0 },
    });
  });

  it('is scoped by the EORI in its payload', async () => {
    expect((await api.get(`/v1/notifications/${queued}`, { key: keys.a })).status).toBe(200);
    expect((await api.get(`/v1/notifications/${queued}`, { key: keys.b })).status).toBe(404);
  });

  it('is reported from Postgres once stored, even while the job is still in Redis', async () => {
    await seedNotification(api.db, {
      notificationId: queued,
      boxId,
      status: 'stored',
      createdAt: new Date('2026-11-21T09:15:00.250Z'),
      receivedAt: new Date('2026-11-21T09:15:01.000Z'),
      processedAt: new Date('2026-11-21T09:15:02.000Z'),
      movementType: 'arrival',
      movementId: '1234567890abcdef',
      messageId: '0fedcba987654321',
      messageType: 'IE043',
    });
    const body = await (await api.get(`/v1/notifications/${queued}`)).json();
    expect(body.status).toBe('stored');
    expect(body.processedAt).toBe('2026-11-21T09:15:02.000Z');
    expect(body.queue).toBeUndefined();
  });
});

describe('when Redis cannot be read', () => {
  // A second app over the same database whose queue connection goes through a proxy we break.
  const redis = createTestRedis();
  const proxy = TcpProxy.forUrl(redis.url);
  let server: Server;
  let baseUrl: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    await proxy.start();
    // Short disconnect timeout: the sockets are mid-reconnect to a dead proxy when we close them.
    const producer = createRedis(proxy.rewrite(redis.url), 'producer', { disconnectTimeout: 50 });
    const client = createRedis(proxy.rewrite(redis.url), 'client', { disconnectTimeout: 50 });
    const ingestQueue = createQueue(queueNames.ingest, producer, redis.prefix);
    await ingestQueue.waitUntilReady();
    const config = loadApiConfig({
      API_KEYS: keys.all,
      HMRC_API_BASE_URL: 'http://127.0.0.1:9',
      HMRC_CLIENT_ID: 'test-client',
      HMRC_CLIENT_SECRET: 'test-secret',
      TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
      LOG_LEVEL: 'silent',
    });
    const logger = createLogger({ service: 'api-test', level: 'silent' });
    const app = createApiApp(
      // Submissions are not exercised here.
      {
        config,
        db: api.db,
        redis: client,
        ingestQueue,
        hmrcQueue: ingestQueue,
        opsQueue: ingestQueue,
        validator: undefined as never,
        parser: undefined as never,
        logger,
      },
      {},
    );
    server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      server.closeAllConnections();
      server.close();
      producer.disconnect();
      client.disconnect();
      await proxy.stop();
      await redis.cleanup();
    };
  });

  afterAll(async () => {
    await close();
  });

  const get = async (notificationId: string) =>
    (await fetch(`${baseUrl}/v1/notifications/${notificationId}`, {
      headers: { authorization: `Bearer ${keys.all}` },
    })) as TestResponse;

  it('still answers from Postgres, and 503 (not 404) when only Redis could know', async () => {
    proxy.blackhole(true);
    expect((await get(stored)).status).toBe(200);
    const started = Date.now();
    const response = await get(randomUUID());
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The ingest queue cannot be read; try again',
    });
    expect(Date.now() - started).toBeLessThan(5000);

    await proxy.stop();
    const refused = await get(randomUUID());
    expect(refused.status).toBe(503);
  });
});
