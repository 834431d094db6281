// Risk retired: event streams that outlive their clients (timers, watcher polls, slots), and a
// client that reads slowly or not at all making the api buffer the feed in memory.
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@ctc-hub/telemetry';
import { createTestDatabase, openEventStream, waitFor, type TestDatabase } from '@ctc-hub/testing';
import express from 'express';
import { sql } from 'kysely';
import { parseApiKeys, requireApiKey } from '../http/auth.js';
import type { ApiDeps } from '../deps.js';
import { errorHandler } from '../http/errors.js';
import { createEventRoutes } from './routes.js';
import type { EventStreams } from './stream.js';

let testDb: TestDatabase;
let server: Server;
let streams: EventStreams;
let baseUrl: string;
const key = 'stream-test-key';

beforeAll(async () => {
  testDb = await createTestDatabase();
  const logger = createLogger({ service: 'stream-test', level: 'silent' });
  const deps = {
    db: testDb.db,
    logger,
    config: {
      EVENT_STREAM_MAX_CLIENTS: 10,
      EVENT_STREAM_MAX_CLIENTS_PER_KEY: 10,
      EVENT_STREAM_HEARTBEAT_SECONDS: 15,
    },
  } as unknown as ApiDeps;
  const events = createEventRoutes(deps, { stallTimeoutMs: 500, pageSize: 100 });
  streams = events.streams;
  const app = express();
  app.use('/v1', requireApiKey(parseApiKeys([key])));
  app.use(events.router);
  app.use(errorHandler(logger));
  server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
  await testDb.destroy();
});

const open = (query = '') =>
  openEventStream(`${baseUrl}/v1/events/stream${query}`, { authorization: `Bearer ${key}` });

const connections = () =>
  new Promise<number>((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );

async function insertEvents(count: number, bytesEach: number) {
  await sql`
    INSERT INTO events (kind, eori, data)
    SELECT 'message.received', 'GB000000000001',
           jsonb_build_object('n', n, 'padding', repeat('x', ${bytesEach}::int))
      FROM generate_series(1, ${count}::int) AS n`.execute(testDb.db);
}

it('releases everything a stream held when its client disconnects', async () => {
  expect(streams.stats()).toEqual({
    open: 0,
    openByKey: {},
    heartbeats: 0,
    watcherRunning: false,
  });
  const clients = await Promise.all([open('?after=now'), open('?after=now'), open('?after=now')]);
  for (const client of clients) expect(client.response.status).toBe(200);
  await waitFor(() => clients.every((client) => client.retry() !== undefined));
  expect(streams.stats()).toMatchObject({ open: 3, heartbeats: 3, watcherRunning: true });
  expect(Object.values(streams.stats().openByKey)).toEqual([3]);

  for (const client of clients) client.close();
  await waitFor(
    () => {
      const stats = streams.stats();
      return (
        stats.open === 0 &&
        Object.keys(stats.openByKey).length === 0 &&
        stats.heartbeats === 0 &&
        !stats.watcherRunning
      );
    },
    { what: 'streams, heartbeats and the watcher to stop' },
  );
  await waitFor(async () => (await connections()) === 0, { what: 'sockets to close' });
});

it('delivers a large backlog in order to a slow reader, holding at most a page in memory', async () => {
  await sql`TRUNCATE events`.execute(testDb.db);
  const count = 3000;
  await insertEvents(count, 4000);
  const client = await open();
  try {
    let previous = 0;
    for (let received = 0; received < count; received += 1) {
      const event = await client.next();
      const n = JSON.parse(event.data).data.n as number;
      expect(n).toBe(previous + 1);
      previous = n;
      // Slower than the server could write: its writes fill the socket and it must wait.
      if (received % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    client.close();
  }
});

it('cuts off a client that stops reading, instead of buffering the feed for it', async () => {
  await sql`TRUNCATE events`.execute(testDb.db);
  await insertEvents(3000, 8000);
  // Opened and never read: ~24 MB of events behind a socket whose buffers fill long before.
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = http.get(
      `${baseUrl}/v1/events/stream`,
      { headers: { authorization: `Bearer ${key}` } },
      (incoming) => {
        incoming.pause();
        resolve(incoming);
      },
    );
    request.on('error', reject);
  });
  expect(response.statusCode).toBe(200);
  await waitFor(() => streams.stats().open === 0, {
    timeoutMs: 15_000,
    what: 'the stalled stream to be closed',
  });
  expect(streams.stats().heartbeats).toBe(0);
  // What the client finds when it reads again: part of the backlog, then the end.
  let bytes = 0;
  response.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const ended = new Promise((resolve) => response.once('close', resolve));
  // Explicitly paused, so a data listener alone would not restart the flow.
  response.resume();
  await ended;
  expect(bytes).toBeGreaterThan(0);
  expect(bytes).toBeLessThan(24_000_000);
});
