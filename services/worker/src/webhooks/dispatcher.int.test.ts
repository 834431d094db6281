// Risk retired: webhook receivers get events they cannot verify, out of order, twice (two worker
// replicas, a restart) or not at all (a receiver that fails, a worker that stops mid-retry), and
// one bad event blocking everything after it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createDb,
  feedEventJson,
  feedStart,
  readEventFeed,
  type Db,
  type DeadLetter,
} from '@ctc-hub/db';
import { createLogger } from '@ctc-hub/telemetry';
import { createTestDatabase, waitFor, type TestDatabase } from '@ctc-hub/testing';
import type { OpsDeps } from '../runtime/deps.js';
import { startWebhookDispatcher, type WebhookDispatcher } from './dispatcher.js';
import type { DeliveryOutcome } from './metrics.js';
import { replayWebhook } from './replay.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const logger = createLogger({ service: 'webhook-test', level: 'silent' });

/**
 * A Standard Webhooks verifier written from the specification, not from our signer: raw body
 * bytes, `{id}.{timestamp}.{body}`, HMAC-SHA256 with the base64-decoded secret, any of the
 * space-separated `v1,` signatures, constant-time comparison, 5-minute tolerance.
 */
function verify(
  headers: IncomingHttpHeaders,
  body: Buffer,
  nowSeconds: number | null = Date.now() / 1000,
): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string')
    return false;
  if (!/^\d+$/.test(timestamp)) return false;
  if (nowSeconds !== null && Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.split('_')[1]!, 'base64');
  const expected = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]))
    .digest();
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: { type: string; timestamp: string; data: any };
}

let testDb: TestDatabase;
let server: Server;
let baseUrl: string;
const deliveries: Delivery[] = [];
/** Status to answer for a delivery; 200 unless a test says otherwise. */
let answer: (delivery: Delivery) => number | Promise<number> = () => 200;
const running: WebhookDispatcher[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const delivery = {
        path: request.url!,
        headers: request.headers,
        raw,
        body: JSON.parse(raw.toString()),
      };
      deliveries.push(delivery);
      void Promise.resolve(answer(delivery)).then((status) => {
        response.statusCode = status;
        response.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((dispatcher) => dispatcher.stop()));
  answer = () => 200;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await testDb.destroy();
});

let hooks = 0;
const newUrl = () => `${baseUrl}/hook/${(hooks += 1)}`;
const at = (url: string) => deliveries.filter((delivery) => url.endsWith(delivery.path));

function recorder() {
  const counts: Record<DeliveryOutcome, number> = { delivered: 0, retried: 0, dead_lettered: 0 };
  return { counts, delivery: (outcome: DeliveryOutcome) => (counts[outcome] += 1) };
}

async function start(
  url: string,
  options: { db?: Db; backoffBaseMs?: number; metrics?: ReturnType<typeof recorder> } = {},
) {
  const dispatcher = startWebhookDispatcher({
    db: options.db ?? testDb.db,
    logger,
    urls: [url],
    secret,
    maxAttempts: 3,
    backoffBaseMs: options.backoffBaseMs ?? 10,
    timeoutMs: 2000,
    metrics: options.metrics ?? recorder(),
    pollMinMs: 20,
    pollMaxMs: 100,
  });
  running.push(dispatcher);
  // A new URL starts at the end of the feed: wait until it has its cursor.
  await waitFor(() => cursorRow(url), { what: `a cursor for ${url}` });
  return dispatcher;
}

const cursorRow = (url: string) =>
  testDb.db.selectFrom('webhook_cursors').selectAll().where('url', '=', url).executeTakeFirst();

let numbered = 0;
async function insertEvents(count: number, db: Db = testDb.db): Promise<number[]> {
  const numbers = Array.from({ length: count }, () => (numbered += 1));
  await db
    .insertInto('events')
    .values(
      numbers.map((n) => ({
        kind: 'message.received',
        movement_type: 'departure',
        movement_id: '0123456789abcdef',
        message_id: n.toString(16).padStart(16, '0'),
        submission_id: null,
        eori: 'GB000000000001',
        data: JSON.stringify({ n }),
      })),
    )
    .execute();
  return numbers;
}

const numbersOf = (list: Delivery[]) => list.map((delivery) => delivery.body.data.data.n as number);

it('the verifier accepts the specification’s example and refuses tampering', () => {
  const headers = {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };
  expect(verify(headers, Buffer.from('{"test": 2432232314}'), null)).toBe(true);
  expect(verify(headers, Buffer.from('{"test": 2432232315}'), null)).toBe(false);
  // Too old for a live delivery.
  expect(verify(headers, Buffer.from('{"test": 2432232314}'))).toBe(false);
});

it('POSTs each event, signed, in feed order, as the feed serves it, and moves the cursor', async () => {
  const url = newUrl();
  await start(url);
  const numbers = await insertEvents(3);
  await waitFor(() => at(url).length >= 3, { what: 'three deliveries' });

  const received = at(url);
  expect(numbersOf(received)).toEqual(numbers);
  const feed = (await readEventFeed(testDb.db, { after: feedStart, limit: 1000 })).events.filter(
    (event) => numbers.includes(event.data.n as number),
  );
  for (const [index, delivery] of received.entries()) {
    expect(verify(delivery.headers, delivery.raw)).toBe(true);
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(delivery.headers['webhook-id']).toBe(feed[index]!.cursor);
    expect(delivery.body).toEqual({
      type: 'message.received',
      timestamp: feedEventJson(feed[index]!).createdAt,
      data: JSON.parse(JSON.stringify(feedEventJson(feed[index]!))),
    });
  }
  await waitFor(async () => (await cursorRow(url))?.cursor === feed[2]!.cursor);
  expect(await cursorRow(url)).toMatchObject({ delivered: 3, failed: 0, last_error: null });
});

it('retries failed POSTs with the same webhook-id, then moves on once acknowledged', async () => {
  const url = newUrl();
  const metrics = recorder();
  await start(url, { metrics });
  let failures = 0;
  const [target, after] = [numbered + 1, numbered + 2];
  answer = (delivery) => (delivery.body.data.data.n === target && failures++ < 2 ? 500 : 200);
  await insertEvents(2);
  await waitFor(() => numbersOf(at(url)).includes(after), {
    what: 'the event after the retried one',
  });

  const received = at(url);
  expect(numbersOf(received)).toEqual([target, target, target, after]);
  expect(new Set(received.slice(0, 3).map((delivery) => delivery.headers['webhook-id'])).size).toBe(
    1,
  );
  for (const delivery of received) expect(verify(delivery.headers, delivery.raw)).toBe(true);
  // The receiver has the last POST before the dispatcher has read its answer.
  await waitFor(() => metrics.counts.delivered === 2 || undefined, { what: 'two deliveries' });
  expect(metrics.counts).toEqual({ delivered: 2, retried: 2, dead_lettered: 0 });
  await waitFor(async () => (await cursorRow(url))?.delivered === 2);
});

it('dead-letters an event after the last attempt and delivers the ones behind it', async () => {
  const url = newUrl();
  const metrics = recorder();
  await start(url, { metrics });
  const [before, doomed, behind] = [numbered + 1, numbered + 2, numbered + 3];
  answer = (delivery) => (delivery.body.data.data.n === doomed ? 503 : 200);
  await insertEvents(3);
  await waitFor(() => numbersOf(at(url)).includes(behind), {
    what: 'the event behind the dead one',
  });

  expect(numbersOf(at(url))).toEqual([before, doomed, doomed, doomed, behind]);
  await waitFor(() => metrics.counts.delivered === 2 || undefined, { what: 'two deliveries' });
  expect(metrics.counts).toEqual({ delivered: 2, retried: 2, dead_lettered: 1 });
  const doomedId = at(url)[1]!.headers['webhook-id'];
  const letters = await testDb.db
    .selectFrom('dead_letters')
    .selectAll()
    .where('kind', '=', 'webhook')
    .execute();
  const letter = letters.find((row) => (row.payload as any).event.cursor === doomedId);
  expect(letter).toMatchObject({
    kind: 'webhook',
    status: 'open',
    error_code: 'HTTP_503',
    eori: 'GB000000000001',
    movement_type: 'departure',
    movement_id: '0123456789abcdef',
  });
  expect(letter!.payload).toEqual({ url, event: at(url)[1]!.body.data });
  expect(letter!.error_history.map((entry) => [entry.code, entry.attempt])).toEqual([
    ['HTTP_503', 1],
    ['HTTP_503', 2],
    ['HTTP_503', 3],
  ]);
  await waitFor(async () => (await cursorRow(url))?.delivered === 2);
  expect(await cursorRow(url)).toMatchObject({
    failed: 1,
    last_error: expect.stringContaining('HTTP_503'),
  });

  // Replaying the letter sends the same event again, under the same id: still refused, the
  // letter is open again with one more occurrence; accepted, it is resolved.
  const letterNow = () =>
    testDb.db
      .selectFrom('dead_letters')
      .selectAll()
      .where('id', '=', letter!.id)
      .executeTakeFirstOrThrow();
  await replayLetter(letter!, url, 1);
  expect(await letterNow()).toMatchObject({ status: 'open', occurrences: 2 });
  answer = () => 200;
  await replayLetter(letter!, url, 2);
  const replayed = at(url).at(-1)!;
  expect(replayed.headers['webhook-id']).toBe(doomedId);
  expect(verify(replayed.headers, replayed.raw)).toBe(true);
  expect((await letterNow()).status).toBe('resolved');
});

async function replayLetter(letter: DeadLetter, url: string, attempt: number) {
  const deps = {
    db: testDb.db,
    config: {
      EVENT_WEBHOOK_URLS: [url],
      EVENT_WEBHOOK_SECRET: secret,
      EVENT_WEBHOOK_TIMEOUT_MS: 2000,
    },
  } as unknown as OpsDeps;
  // As the replay job does: the letter is marked replayed before its work runs.
  await testDb.db
    .updateTable('dead_letters')
    .set({ status: 'replayed' })
    .where('id', '=', letter.id)
    .execute();
  const plan = replayWebhook(letter, attempt, deps);
  if (!plan.ok) throw new Error(plan.reason);
  await plan.enqueue(deps, new Date());
  // A letter's payload does not choose where the worker sends requests.
  const elsewhere = replayWebhook(letter, attempt, {
    ...deps,
    config: { ...deps.config, EVENT_WEBHOOK_URLS: [`${baseUrl}/other`] },
  } as OpsDeps);
  expect(elsewhere).toMatchObject({ ok: false });
}

it('delivers each event once when two dispatchers (replicas) run for the same URL', async () => {
  const url = newUrl();
  const replicaDbs = [
    createDb({ url: testDb.url, poolMax: 3 }),
    createDb({ url: testDb.url, poolMax: 3 }),
  ];
  try {
    // Slow answers give the second replica every chance to step in mid-batch.
    answer = () => new Promise((resolve) => setTimeout(() => resolve(200), 3));
    await Promise.all(replicaDbs.map((db) => start(url, { db })));
    const inserted: number[] = [];
    for (let batch = 0; batch < 6; batch += 1) {
      inserted.push(...(await insertEvents(10)));
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await waitFor(() => at(url).length >= inserted.length, {
      timeoutMs: 20_000,
      what: '60 deliveries',
    });
    // Quiet for a while: nothing is sent a second time.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ids = at(url).map((delivery) => delivery.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(numbersOf(at(url))).toEqual(inserted);
  } finally {
    await Promise.all(running.splice(0).map((dispatcher) => dispatcher.stop()));
    await Promise.all(replicaDbs.map((db) => db.destroy()));
  }
});

it('resumes after a restart from its cursor: nothing repeated, nothing missed', async () => {
  const url = newUrl();
  const first = await start(url);
  const early = await insertEvents(5);
  await waitFor(() => at(url).length === 5);
  await waitFor(async () => (await cursorRow(url))?.delivered === 5);
  await first.stop();

  const whileDown = await insertEvents(4);
  await start(url);
  await waitFor(() => at(url).length >= 9, { what: 'the events committed while stopped' });
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(numbersOf(at(url))).toEqual([...early, ...whileDown]);
});

it('stops promptly in the middle of retries and sends the event again after the restart', async () => {
  const url = newUrl();
  answer = () => 500;
  const dispatcher = await start(url, { backoffBaseMs: 60_000 });
  const [pending] = (await insertEvents(1)) as [number];
  await waitFor(() => at(url).length === 1, { what: 'the first attempt' });
  const stopping = Date.now();
  await dispatcher.stop();
  expect(Date.now() - stopping).toBeLessThan(1000);
  expect((await cursorRow(url))?.delivered).toBe(0);

  answer = () => 200;
  await start(url);
  await waitFor(() => at(url).length === 2, { what: 'the event again' });
  expect(numbersOf(at(url))).toEqual([pending, pending]);
  expect(at(url)[1]!.headers['webhook-id']).toBe(at(url)[0]!.headers['webhook-id']);
});
