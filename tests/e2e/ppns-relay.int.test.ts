// Risk retired: trader software that already consumes PPNS loses its pushes the day ctc-hub takes
// the box (HMRC allows one callback URL per box). The relay gives it back every notification, in
// PPNS's own wire format, signed with its secret, retried through an outage, dead-lettered and
// replayable after PPNS's retry window; a pulling consumer pages and acknowledges as at HMRC; and
// a consumer, or a key, never sees another trader's notifications.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { loadReceiverConfig } from '@ctc-hub/config';
import { signPayload } from '@ctc-hub/ppns';
import { createReceiverApp } from '@ctc-hub/receiver';
import { createLogger, initMetrics } from '@ctc-hub/telemetry';
import { validateHmrcResponse, waitFor } from '@ctc-hub/testing';
import { connectEori } from '../../scripts/stack.js';
import { call, replayFinished } from './replay-support.js';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

const otherEori = 'GB987654321000';
const keys = {
  operator: 'relay-operator-key',
  trader: 'relay-trader-key',
  other: 'relay-other-key',
};
const ppnsAccept = 'application/vnd.hmrc.1.0+json';
/** What PPNS's OAS says is wrong with the pull API's answers (checked in the last test). */
const oasErrors: string[] = [];
let oasChecked = 0;

function checkOas(method: string, boxId: string, tail: string, response: Response, body: unknown) {
  // 401 comes from HMRC's API platform, not PPNS (its OAS lists none); 204 has no body.
  if (response.status === 401 || response.status === 204) return;
  const path = `/misc/push-pull-notification/box/${boxId}/notifications${tail}`;
  oasChecked += 1;
  oasErrors.push(
    ...validateHmrcResponse({
      version: 'ppns-1.0',
      method,
      path,
      status: response.status,
      contentType: response.headers.get('content-type'),
      body,
    }).map((error) => `${method} ${path}: ${error}`),
  );
}

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    API_KEYS: `${keys.operator},${keys.trader}:${traderEori},${keys.other}:${otherEori}`,
    RELAY_RETRY_INTERVAL_MS: '300',
    RELAY_POLL_MS: '100',
    RELAY_RETRY_WINDOW_SECONDS: '8',
    RELAY_CHALLENGE_TIMEOUT_MS: '3000',
    RELAY_CALLBACK_ALLOW_HTTP: 'true',
  });
  await connectEori(e2e.stack, otherEori);
}, 90_000);
afterAll(async () => {
  await e2e?.stop();
});

/**
 * The project's own PPNS receiver as the consumer: it answers PPNS's challenge, refuses a push
 * whose X-Hub-Signature is not the HMAC-SHA1 of the body under its secret (401) or whose box is
 * not its own (403), and answers 200 once it has taken the notification. What it takes is
 * recorded instead of queued. `down()` closes its port (connection refused) until `up()`.
 */
async function startConsumer(secret: string, boxId: string) {
  const accepted: { notificationId: string; envelope: string }[] = [];
  const refused: number[] = [];
  const config = loadReceiverConfig({
    ...e2e.stack.env,
    RECEIVER_PORT: '0',
    PPNS_PUSH_SECRETS: secret,
    PPNS_SIGNATURE_REQUIRED: 'true',
    PPNS_BOX_IDS: boxId,
    RECEIVER_ALLOWED_CIDRS: '',
  });
  const app = createReceiverApp({
    config,
    enqueuer: {
      enqueue: async (job) => {
        accepted.push({ notificationId: job.notificationId, envelope: job.envelope });
        return { ok: true };
      },
    },
    logger: createLogger({ service: 'relay-consumer', level: 'silent' }),
    readiness: {},
    telemetry: initMetrics('relay-consumer'),
  });
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    response.on('finish', () => {
      if (request.method === 'POST' && response.statusCode !== 200)
        refused.push(response.statusCode);
    });
    app(request, response);
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    accepted,
    refused,
    url: `http://127.0.0.1:${port}/ppns/callback`,
    down: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    up: async () => {
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const consumerSecret = () => `RELAY${randomUUID().replace(/-/g, '').toUpperCase()}`.slice(0, 32);

async function createConsumer(body: Record<string, unknown>, key = keys.operator) {
  return call(e2e, 'POST', '/v1/relay/consumers', body, key);
}

/** Notifications the hub stored (or settled as stored) for these movements. */
async function storedFor(movementIds: string[]) {
  return e2e.testDb.db
    .selectFrom('notifications')
    .select(['notification_id', 'envelope', 'created_at'])
    .where('movement_id', 'in', movementIds)
    .where('status', 'in', ['stored', 'duplicate'])
    .orderBy('created_at')
    .execute();
}

async function pull(boxId: string, query = '', key = keys.operator, accept = ppnsAccept) {
  const response = await fetch(
    `${e2e.stack.apiUrl}/misc/push-pull-notification/box/${boxId}/notifications${query}`,
    { headers: { authorization: `Bearer ${key}`, accept } },
  );
  const text = await response.text();
  const body = text === '' ? null : JSON.parse(text);
  checkOas('GET', boxId, '', response, body);
  return { status: response.status, body, text };
}

async function acknowledge(boxId: string, ids: unknown, key = keys.operator) {
  const response = await fetch(
    `${e2e.stack.apiUrl}/misc/push-pull-notification/box/${boxId}/notifications/acknowledge`,
    {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${key}`,
        accept: ppnsAccept,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ notificationIds: ids }),
    },
  );
  const text = await response.text();
  const body = text === '' ? null : JSON.parse(text);
  checkOas('PUT', boxId, '/acknowledge', response, body);
  return { status: response.status, body };
}

it('pushes every stored notification to a PPNS consumer in PPNS’s format, signed, through an outage', async () => {
  const secret = consumerSecret();
  const boxId = randomUUID();
  const consumer = await startConsumer(secret, boxId);
  try {
    const created = await createConsumer({
      name: 'existing PPNS software',
      boxId,
      callbackUrl: consumer.url,
      secret,
      eoris: [traderEori],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ boxId, callbackValidated: true, hasSecret: true });
    expect(JSON.stringify(created.body)).not.toContain(secret);

    const first = hex16();
    for (const messageType of ['IE028', 'IE029'])
      await e2e.inject('departure', first, { messageType });
    await e2e.waitForMessages('departure', first, 2);
    await waitFor(() => consumer.accepted.length >= 2, { what: 'two relayed pushes' });

    // Down for a while: the relay keeps retrying (PPNS retries; only a 200 counts).
    await consumer.down();
    const second = hex16();
    for (const messageType of ['IE028', 'IE060', 'IE029'])
      await e2e.inject('departure', second, { messageType });
    await e2e.waitForMessages('departure', second, 3);
    await waitFor(
      async () =>
        (
          await e2e.testDb.db
            .selectFrom('relay_notifications')
            .select('attempts')
            .where('attempts', '>=', 2)
            .where('status', '=', 'PENDING')
            .execute()
        ).length >= 3,
      { what: 'failed pushes retried while the consumer is down' },
    );
    await consumer.up();

    const stored = await storedFor([first, second]);
    expect(stored).toHaveLength(5);
    await waitFor(() => consumer.accepted.length >= 5, { what: 'every notification relayed' });
    expect(consumer.refused).toEqual([]);
    expect(new Set(consumer.accepted.map((push) => push.notificationId))).toEqual(
      new Set(stored.map((row) => row.notification_id)),
    );
    for (const row of stored) {
      const original = JSON.parse(row.envelope);
      const push = consumer.accepted.find((entry) => entry.notificationId === row.notification_id)!;
      // PPNS's six fields, in PPNS's order, the message as the string PPNS sent us.
      expect(Object.keys(JSON.parse(push.envelope))).toEqual([
        'notificationId',
        'boxId',
        'messageContentType',
        'message',
        'status',
        'createdDateTime',
      ]);
      expect(JSON.parse(push.envelope)).toEqual({
        notificationId: original.notificationId,
        boxId,
        messageContentType: original.messageContentType,
        message: original.message,
        status: 'PENDING',
        createdDateTime: row.created_at.toISOString().replace('Z', '+0000'),
      });
    }
    // Pushed with a 200: ACKNOWLEDGED, as PPNS marks them.
    await waitFor(
      async () => {
        const { body } = await call(e2e, 'GET', `/v1/relay/consumers/${created.body.id}`);
        return body.notifications.ACKNOWLEDGED === 5 && body.notifications.PENDING === 0;
      },
      { what: 'five acknowledged' },
    );
    const listed = await pull(boxId, '?status=ACKNOWLEDGED');
    expect(listed.body.map((entry: any) => entry.notificationId)).toEqual(
      stored.map((row) => row.notification_id),
    );
    // The worker's meter reports the outcomes and the consumer's lag (0: nothing left to push).
    const metrics = await (await fetch(`${e2e.stack.workerUrl}/metrics`)).text();
    expect(metrics).toMatch(/ctc_relay_pushes_total\{outcome="delivered"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/ctc_relay_pushes_total\{outcome="retried"[^}]*\} [1-9]/);
    expect(metrics).toContain(`ctc_relay_lag_seconds{consumer="${created.body.id}"`);
    expect(metrics).toMatch(/ctc_relay_delivery_seconds_count\S* [1-9]/);
    await call(e2e, 'DELETE', `/v1/relay/consumers/${created.body.id}`);
  } finally {
    await consumer.stop();
  }
}, 60_000);

it('signs with the consumer’s secret: a consumer holding another secret refuses every push', async () => {
  const boxId = randomUUID();
  const consumer = await startConsumer(consumerSecret(), boxId);
  try {
    const created = await createConsumer({
      name: 'wrong secret',
      boxId,
      callbackUrl: consumer.url,
      secret: consumerSecret(),
      eoris: [traderEori],
    });
    expect(created.status).toBe(201);
    const movement = hex16();
    await e2e.inject('departure', movement, { messageType: 'IE028' });
    await waitFor(() => consumer.refused.length >= 1, { what: 'a refused push' });
    expect(consumer.refused[0]).toBe(401);
    expect(consumer.accepted).toEqual([]);
    await call(e2e, 'DELETE', `/v1/relay/consumers/${created.body.id}`);
  } finally {
    await consumer.stop();
  }
}, 30_000);

it('saves a callback URL only once it has answered PPNS’s challenge', async () => {
  const silent = createServer((_request, response) =>
    response.writeHead(200).end('{"challenge":"no"}'),
  );
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/cb?x=1`;
    const refused = await createConsumer({
      name: 'does not echo',
      callbackUrl: url,
      secret: consumerSecret(),
      eoris: '*',
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: 'CALLBACK_VALIDATION_FAILED',
      message: 'Invalid callback URL. Check the information you have provided is correct.',
    });
    const { body } = await call(e2e, 'GET', '/v1/relay/consumers');
    expect(body.consumers.map((entry: any) => entry.name)).not.toContain('does not echo');
    // Traders' keys do not configure the relay.
    const scoped = await createConsumer({ name: 'x', eoris: [traderEori] }, keys.trader);
    expect(scoped.status).toBe(403);
  } finally {
    silent.close();
  }
});

it('dead-letters a push that never got a 200 within the retry window; a replay delivers it', async () => {
  const secret = consumerSecret();
  let answer = 500;
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url!, 'http://x');
    if (request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ challenge: url.searchParams.get('challenge') }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      // 204 is not PPNS's success either: only 200 is.
      if (answer === 200 && request.headers['x-hub-signature'] === signPayload(secret, raw))
        bodies.push(raw);
      response.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const created = await createConsumer({
      name: 'broken for hours',
      callbackUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      secret,
      eoris: [traderEori],
    });
    expect(created.status).toBe(201);
    const movement = hex16();
    await e2e.inject('departure', movement, { messageType: 'IE028' });
    const [stored] = await waitFor(async () => {
      const rows = await storedFor([movement]);
      return rows.length === 1 ? rows : undefined;
    });
    answer = 204;
    const letter = await waitFor(
      async () => {
        const { body } = await call(e2e, 'GET', '/v1/dead-letters?kind=relay');
        // This consumer's letter (the dedupe key names the consumer and the notification).
        return body.deadLetters?.find(
          (entry: any) => entry.dedupeKey === `relay:${created.body.id}:${stored!.notification_id}`,
        );
      },
      { timeoutMs: 30_000, what: 'a relay dead letter' },
    );
    const { body: view } = await call(e2e, 'GET', `/v1/relay/consumers/${created.body.id}`);
    expect(view.notifications).toMatchObject({ FAILED: 1, PENDING: 0 });
    const failed = await pull(created.body.boxId, '?status=FAILED');
    expect(failed.body.map((entry: any) => entry.notificationId)).toEqual([
      stored!.notification_id,
    ]);

    answer = 200;
    const started = await call(e2e, 'POST', `/v1/dead-letters/${letter.id}/replay`, {});
    expect(started.status).toBe(202);
    await replayFinished(e2e, started.body.replayId);
    await waitFor(() => bodies.length >= 1, { what: 'the replayed push' });
    expect(JSON.parse(bodies[0]!).notificationId).toBe(stored!.notification_id);
    await waitFor(
      async () => {
        const { body } = await call(e2e, 'GET', `/v1/dead-letters/${letter.id}`);
        return body.status === 'resolved';
      },
      { what: 'the letter resolved' },
    );
    await call(e2e, 'DELETE', `/v1/relay/consumers/${created.body.id}`);
  } finally {
    server.close();
  }
}, 60_000);

it('serves a pull consumer its box as PPNS does: pages of the oldest, acknowledged until none is left', async () => {
  const created = await createConsumer({ name: 'pulls', eoris: [traderEori] });
  expect(created.status).toBe(201);
  const boxId = created.body.boxId as string;
  const movement = hex16();
  for (const messageType of ['IE028', 'IE060', 'IE029', 'IE045'])
    await e2e.inject('departure', movement, { messageType });
  await e2e.waitForMessages('departure', movement, 4);
  const stored = await storedFor([movement]);
  await waitFor(async () => (await pull(boxId)).body.length === 4, { what: 'four in the box' });

  const seen: string[] = [];
  for (;;) {
    const page = await pull(boxId, '?status=PENDING&count=3');
    expect(page.status).toBe(200);
    if (page.body.length === 0) break;
    expect(page.body.length).toBeLessThanOrEqual(3);
    for (const entry of page.body) {
      expect(entry).toMatchObject({
        boxId,
        status: 'PENDING',
        messageContentType: 'application/json',
      });
      expect(typeof entry.message).toBe('string');
      expect(entry.createdDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    }
    const ids = page.body.map((entry: any) => entry.notificationId as string);
    seen.push(...ids);
    expect((await acknowledge(boxId, ids)).status).toBe(204);
  }
  // Oldest first, each once.
  expect(seen).toEqual(stored.map((row) => row.notification_id));
  const acknowledged = await pull(boxId, '?status=ACKNOWLEDGED');
  expect(acknowledged.body).toHaveLength(4);

  // Dates: inclusive, and fromDate must be before toDate.
  const at = stored[1]!.created_at.toISOString().replace('Z', '');
  const from = await pull(boxId, `?fromDate=${at}`);
  expect(from.body.map((entry: any) => entry.notificationId)).toEqual(
    stored.slice(1).map((row) => row.notification_id),
  );
  expect(await pull(boxId, `?fromDate=${at}&toDate=${at}`)).toMatchObject({
    status: 400,
    body: { code: 'BAD_REQUEST', message: 'fromDate parameter is before toDateParameter' },
  });
  expect(await pull(boxId, '?fromDate=yesterday')).toMatchObject({
    status: 400,
    body: { code: 'INVALID_REQUEST_PAYLOAD', message: 'Unparsable DateValue Param provided' },
  });
  expect(await pull(boxId, '?status=READ')).toMatchObject({
    status: 400,
    body: { code: 'INVALID_REQUEST_PAYLOAD', message: 'Invalid Status parameter provided' },
  });
  expect(await pull(boxId, '?since=1')).toMatchObject({
    status: 400,
    body: { code: 'INVALID_REQUEST_PAYLOAD' },
  });
  expect(await pull(boxId, '', keys.operator, 'application/json')).toMatchObject({
    status: 406,
    body: { code: 'ACCEPT_HEADER_INVALID', message: 'The accept header is missing or invalid' },
  });
  expect(await pull('not-a-box')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
  expect(await pull(randomUUID())).toMatchObject({
    status: 404,
    body: { code: 'BOX_NOT_FOUND', message: 'Box not found' },
  });
  const tooMany = Array.from({ length: 101 }, () => randomUUID());
  expect(await acknowledge(boxId, tooMany)).toMatchObject({
    status: 400,
    body: {
      code: 'INVALID_REQUEST_PAYLOAD',
      message: 'JSON body is invalid against expected format',
    },
  });
  expect(
    (await acknowledge(boxId, [stored[0]!.notification_id, stored[0]!.notification_id])).status,
  ).toBe(400);
  // Unknown ids are ignored, as at PPNS.
  expect((await acknowledge(boxId, [randomUUID()])).status).toBe(204);
}, 60_000);

it('keeps tenants apart: a consumer sees only its EORIs, a key only the boxes within its scope', async () => {
  const mine = await createConsumer({ name: 'trader A', eoris: [traderEori] });
  const theirs = await createConsumer({ name: 'trader B', eoris: [otherEori] });
  const everyone = await createConsumer({ name: 'operator', eoris: '*' });
  const a = hex16();
  const b = hex16();
  await e2e.inject('departure', a, { messageType: 'IE028' }, traderEori);
  await e2e.inject('departure', b, { messageType: 'IE028' }, otherEori);
  await e2e.waitForMessages('departure', a, 1);
  const [storedA] = await storedFor([a]);
  const [storedB] = await waitFor(async () => {
    const rows = await storedFor([b]);
    return rows.length === 1 ? rows : undefined;
  });
  const idsIn = async (boxId: string, key: string) =>
    ((await pull(boxId, '', key)).body as any[]).map((entry) => entry.notificationId as string);
  await waitFor(async () => (await idsIn(everyone.body.boxId, keys.operator)).length >= 2);
  await waitFor(async () => (await idsIn(theirs.body.boxId, keys.other)).length >= 1);

  const boxA = await idsIn(mine.body.boxId, keys.trader);
  expect(boxA).toContain(storedA!.notification_id);
  expect(boxA).not.toContain(storedB!.notification_id);
  const boxB = await idsIn(theirs.body.boxId, keys.other);
  expect(boxB).toEqual([storedB!.notification_id]);
  expect(await idsIn(everyone.body.boxId, keys.operator)).toEqual(
    expect.arrayContaining([storedA!.notification_id, storedB!.notification_id]),
  );

  // Another trader's key: PPNS's 403 on the box, for reading and for acknowledging.
  expect(await pull(mine.body.boxId, '', keys.other)).toMatchObject({
    status: 403,
    body: { code: 'FORBIDDEN', message: 'Access denied' },
  });
  expect((await acknowledge(mine.body.boxId, [storedA!.notification_id], keys.other)).status).toBe(
    403,
  );
  // A scoped key cannot use a box that sees every EORI.
  expect((await pull(everyone.body.boxId, '', keys.trader)).status).toBe(403);
  expect((await pull(mine.body.boxId, '', 'no-such-key')).status).toBe(401);
  // Nothing was acknowledged by the refused call.
  expect(
    (await pull(mine.body.boxId, '?status=PENDING', keys.trader)).body.map(
      (e: any) => e.notificationId,
    ),
  ).toContain(storedA!.notification_id);
}, 60_000);

it('answered every pull and acknowledgement above as PPNS’s OAS describes', () => {
  expect(oasChecked).toBeGreaterThan(20);
  expect(oasErrors).toEqual([]);
});
