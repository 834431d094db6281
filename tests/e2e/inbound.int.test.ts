// Risk retired: the inbound path as a trader would run it, end to end on real Postgres and Redis
// with the HMRC sandbox: PPNS push → verify → BullMQ → (fetch by URI) → parse → PostgreSQL → read
// API, including large messages, duplicates, out-of-order arrival, hostile messageUris and bad XML.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { formatPpnsDateTime, signPayload } from '@ctc-hub/ppns';
import { waitFor } from '@ctc-hub/testing';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});

const secret = () => e2e.stack.env.PPNS_PUSH_SECRETS!.split(',')[0]!;
const boxId = () => e2e.stack.env.SANDBOX_BOX_ID ?? '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';

/** Pushes a notification to our receiver exactly as PPNS would, signed with the push secret. */
async function push(
  message: unknown,
  options: { notificationId?: string; asObject?: boolean } = {},
) {
  const notificationId = options.notificationId ?? randomUUID();
  const body = JSON.stringify({
    notificationId,
    boxId: boxId(),
    messageContentType: 'application/json',
    message: options.asObject === true ? message : JSON.stringify(message),
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(new Date()),
  });
  const response = await fetch(`${e2e.stack.receiverUrl}/ppns/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature': signPayload(secret(), body) },
    body,
  });
  return { notificationId, status: response.status, body };
}

const notification = (id: string) =>
  waitFor(
    async () => {
      const { status, body } = await e2e.api(`/v1/notifications/${id}`);
      return status === 200 && body.status !== 'queued' ? body : undefined;
    },
    { what: `notification ${id} processed` },
  );

it('stores a pushed NCTS message, parsed and byte-identical, linked to its movement, box and request', async () => {
  const departureId = hex16();
  const injected = await e2e.inject('departure', departureId, { messageType: 'IE028' });
  const [listed] = await e2e.waitForMessages('departure', departureId, 1);
  expect(listed).toMatchObject({ id: injected.messageId, departureId, type: 'IE028' });
  // ctc-hub's own fields are in its /v1 views, not in HMRC's shapes.
  const ourList = await e2e.api(`/v1/departures/${departureId}/messages`);
  expect(ourList.body.messages[0]).toMatchObject({
    id: injected.messageId,
    boxId: boxId(),
    requestId: `/customs/transits/movements/departures/${departureId}`,
  });

  const movement = await e2e.api(`/customs/transits/movements/departures/${departureId}`);
  expect(movement.body).toMatchObject({ id: departureId, enrollmentEORINumber: traderEori });
  expect(movement.body.movementReferenceNumber).toMatch(/^\d{2}[A-Z]{2}[A-Z0-9]{14}$/);
  const ours = await e2e.api(`/v1/departures/${departureId}`);
  expect(ours.body).toMatchObject({ id: departureId, status: 'mrn_allocated' });

  // The converted JSON form HMRC's clients may ask for.
  const converted = await e2e.api(
    `/customs/transits/movements/departures/${departureId}/messages/${injected.messageId}`,
    'application/vnd.hmrc.2.1+json',
  );
  expect(Object.keys(converted.body.body)).toEqual(['n1:CC028C']);

  const body = await e2e.api(
    `/customs/transits/movements/departures/${departureId}/messages/${injected.messageId}/body`,
  );
  expect(body.status).toBe(200);
  expect(body.headers.get('content-type')).toMatch(/^application\/xml/);
  expect(body.bytes.equals(await e2e.hmrcBody('departure', departureId, injected.messageId))).toBe(
    true,
  );

  const bySource = await e2e.api(`/v1/messages?boxId=${boxId()}&messageType=IE028`);
  expect(bySource.body.messages.map((message: { id: string }) => message.id)).toContain(
    injected.messageId,
  );
});

it.each([
  ['just over 80,000 bytes', 80_001],
  ['8 MB', 8 * 1024 * 1024],
])(
  'fetches a message of %s by its URI and serves it back byte-identical',
  async (_label, size) => {
    const arrivalId = hex16();
    const injected = await e2e.inject('departure', arrivalId, { messageType: 'IE029', size });
    await e2e.waitForMessages('departure', arrivalId, 1, 60_000);
    const original = await e2e.hmrcBody('departure', arrivalId, injected.messageId);
    expect(original.length).toBeGreaterThanOrEqual(size);
    const ours = await e2e.api(
      `/customs/transits/movements/departures/${arrivalId}/messages/${injected.messageId}/body`,
    );
    expect(ours.bytes.length).toBe(original.length);
    expect(ours.bytes.equals(original)).toBe(true);

    const stored = await e2e.testDb.db
      .selectFrom('messages')
      .select(['source', 'size_bytes', 'message_type'])
      .where('message_id', '=', injected.messageId)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ source: 'fetch', size_bytes: original.length, message_type: 'IE029' });
    if (injected.notificationId !== undefined) {
      expect((await notification(injected.notificationId)).status).toBe('stored');
    }
  },
  90_000,
);

it('derives "released" when IE029 arrives before IE028', async () => {
  const departureId = hex16();
  await e2e.inject('departure', departureId, { messageType: 'IE029' });
  await e2e.waitForMessages('departure', departureId, 1);
  await e2e.inject('departure', departureId, { messageType: 'IE028' });
  await e2e.waitForMessages('departure', departureId, 2);
  const movement = await waitFor(
    async () => {
      const { body } = await e2e.api(`/v1/departures/${departureId}`);
      return body.status === 'released' ? body : undefined;
    },
    { what: 'status released' },
  );
  expect(movement.status).toBe('released');
});

it('keeps one notification and one message when the same notification is pushed five times at once', async () => {
  const departureId = hex16();
  const messageId = hex16();
  const xml = `<ncts:CC928C PhaseID="NCTS5.0" xmlns:ncts="http://ncts.dgtaxud.ec"><messageSender>NTA.GB</messageSender><messageRecipient>${traderEori}</messageRecipient><preparationDateAndTime>2024-05-14T15:26:40</preparationDateAndTime><messageIdentification>M1</messageIdentification><messageType>CC928C</messageType><TransitOperation><LRN>LRN-DUP-1</LRN></TransitOperation></ncts:CC928C>`;
  const payload = {
    messageUri: `/customs/transits/movements/departures/${departureId}/messages/${messageId}`,
    notificationType: 'MESSAGE_RECEIVED',
    messageId,
    enrollmentEORINumber: traderEori,
    departureId,
    messageType: 'IE928',
    messageBody: xml,
  };
  const notificationId = randomUUID();
  const results = await Promise.all(
    Array.from({ length: 5 }, () => push(payload, { notificationId })),
  );
  expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200]);
  expect((await notification(notificationId)).status).toBe('stored');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const rows = await e2e.testDb.db
    .selectFrom('notifications')
    .select('status')
    .where('notification_id', '=', notificationId)
    .execute();
  expect(rows).toEqual([{ status: 'stored' }]);
  const messages = await e2e.testDb.db
    .selectFrom('messages')
    .select('message_id')
    .where('message_id', '=', messageId)
    .execute();
  expect(messages).toHaveLength(1);
});

it('understands a v1 (phase 4) notification and a message given as an object', async () => {
  const arrivalId = String(Math.floor(Math.random() * 1e9));
  const xml =
    '<CC025A><SynIdeMES1>UNOC</SynIdeMES1><MesSenMES3>NCTS</MesSenMES3><MesRecMES6>GB123456789000</MesRecMES6><DatOfPreMES9>20210301</DatOfPreMES9><TimOfPreMES10>1015</TimOfPreMES10><MesIdeMES19>1</MesIdeMES19><MesTypMES20>GB025A</MesTypMES20><HEAHEA><DocNumHEA5>21GB00000000000013</DocNumHEA5></HEAHEA></CC025A>';
  const v1 = {
    messageUri: `/customs/transits/movements/arrivals/${arrivalId}/messages/1`,
    requestId: `/customs/transits/movements/arrivals/${arrivalId}`,
    customerId: traderEori,
    arrivalId,
    messageId: '1',
    received: '2021-03-01T10:15:30.123',
    messageType: 'IE025',
    messageBody: xml,
  };
  const { notificationId, status } = await push(v1, { asObject: true });
  expect(status).toBe(200);
  const result = await notification(notificationId);
  expect(result).toMatchObject({ status: 'stored', movement: { type: 'arrival', id: arrivalId } });
  const stored = await e2e.testDb.db
    .selectFrom('messages')
    .select(['message_type', 'received_at', 'mrn'])
    .where('movement_id', '=', arrivalId)
    .executeTakeFirstOrThrow();
  expect(stored.message_type).toBe('IE025');
  expect(stored.received_at.toISOString()).toBe('2021-03-01T10:15:30.123Z');
});

describe('hostile messageUris', () => {
  let canary: Server;
  let hits = 0;
  beforeAll(async () => {
    canary = createServer((_request, response) => {
      hits += 1;
      response.end('<secret/>');
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => canary.close(() => resolve()));
  });

  it.each([
    (port: number) =>
      `http://127.0.0.1:${port}/customs/transits/movements/departures/0123456789abcdef/messages/0123456789abcdef`,
    (port: number) =>
      `//127.0.0.1:${port}/customs/transits/movements/departures/0123456789abcdef/messages/0123456789abcdef`,
    () =>
      '/customs/transits/movements/departures/0123456789abcdef/messages/%2e%2e%2f%2e%2e%2fadmin',
    () =>
      '/customs/transits/movements/departures/../../../../latest/meta-data/messages/0123456789abcdef',
    () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
  ])('quarantines %p without any request leaving', async (uriFor) => {
    const port = (canary.address() as AddressInfo).port;
    const { notificationId, status } = await push({
      messageUri: uriFor(port),
      notificationType: 'MESSAGE_RECEIVED',
      messageId: '0123456789abcdef',
      enrollmentEORINumber: traderEori,
      departureId: '0123456789abcdef',
      messageType: 'IE029',
    });
    expect(status).toBe(200);
    const result = await notification(notificationId);
    expect(result.status).toBe('quarantined');
    expect(result.error).toMatch(/messageUri|another movement|another message/);
    expect(hits).toBe(0);
  });
});

it('quarantines a malformed message with its raw payload, visible through the api', async () => {
  const departureId = hex16();
  const messageId = hex16();
  const { notificationId, body } = await push({
    messageUri: `/customs/transits/movements/departures/${departureId}/messages/${messageId}`,
    notificationType: 'MESSAGE_RECEIVED',
    messageId,
    enrollmentEORINumber: traderEori,
    departureId,
    messageType: 'IE028',
    messageBody:
      '<ncts:CC028C xmlns:ncts="http://ncts.dgtaxud.ec"><messageSender>NTA.GB</messageSend',
  });
  const result = await notification(notificationId);
  expect(result).toMatchObject({ status: 'quarantined' });
  expect(result.error).toBeTruthy();
  const letters = await e2e.api(`/v1/dead-letters?kind=notification`);
  const letter =
    letters.body.deadLetters?.find?.(
      (entry: { notificationId: string }) => entry.notificationId === notificationId,
    ) ??
    letters.body.items?.find?.(
      (entry: { notificationId: string }) => entry.notificationId === notificationId,
    );
  expect(letter).toBeDefined();
  const detail = await e2e.api(`/v1/dead-letters/${letter.id}`);
  expect(detail.body.payload.envelope).toBe(body);
  const messages = await e2e.testDb.db
    .selectFrom('messages')
    .select('message_id')
    .where('message_id', '=', messageId)
    .execute();
  expect(messages).toHaveLength(0);
});

it('carries the trace from the receiver to the stored notification', async () => {
  const traceId = randomUUID().replace(/-/g, '');
  const departureId = hex16();
  const messageId = hex16();
  const body = JSON.stringify({
    notificationId: randomUUID(),
    boxId: boxId(),
    messageContentType: 'application/json',
    message: JSON.stringify({
      messageUri: `/customs/transits/movements/departures/${departureId}/messages/${messageId}`,
      notificationType: 'MESSAGE_RECEIVED',
      messageId,
      departureId,
      messageType: 'IE928',
      messageBody:
        '<ncts:CC928C xmlns:ncts="http://ncts.dgtaxud.ec"><messageType>CC928C</messageType></ncts:CC928C>',
    }),
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(new Date()),
  });
  const response = await fetch(`${e2e.stack.receiverUrl}/ppns/callback`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': signPayload(secret(), body),
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    },
    body,
  });
  expect(response.status).toBe(200);
  const { notificationId } = (await response.json()) as { notificationId: string };
  await notification(notificationId);
  const row = await e2e.testDb.db
    .selectFrom('notifications')
    .select('trace_id')
    .where('notification_id', '=', notificationId)
    .executeTakeFirstOrThrow();
  expect(row.trace_id).toBe(traceId);
});
